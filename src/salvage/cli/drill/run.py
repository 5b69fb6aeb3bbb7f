"""``salvage drill run --from-backup B``."""

from __future__ import annotations

import contextlib
import shlex
from typing import Annotated, Any

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AwsEndpointUrl, AwsRegion, ClusterName, GceCredentials, GceEndpoint, GceProject, Location, RepoPasswordFile,
    RepoPasswordSecret, VerifyCommand, VerifyContainer, VerifySelector, repo_password,
)
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.engines.drill import DrillRequest, drilled_backup, run_drill
from salvage.locations import open_location
from salvage.model.cloud_settings import AwsSettings, GceSettings
from salvage.model.errors import UsageError


def run(
    ctx: typer.Context,
    from_backup: Annotated[str, typer.Option("--from-backup", help="The backup to drill.")] = "",
    schedule: Annotated[str | None, typer.Option(
        "--schedule", "--backup-schedule", help="Drill the newest Completed backup of this Schedule "
                                                "instead.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Drill name (default: BACKUP-drill-ID).")] = None,
    verify_command: VerifyCommand = None,
    verify_container: VerifyContainer = None,
    verify_selector: VerifySelector = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for readiness, and for each "
                                           "verify command.")] = 600.0,
    keep_on_failure: Annotated[bool, typer.Option(
        "--keep-on-failure", help="Leave a failed drill's scratch namespaces for a look (removed otherwise).")] = False,
    location: Location = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    aws_region: AwsRegion = None,
    aws_endpoint_url: AwsEndpointUrl = None,
    cluster_name: ClusterName = None,
    gce_project: GceProject = None,
    gce_endpoint: GceEndpoint = None,
    gce_credentials: GceCredentials = None,
) -> None:
    """Restore a backup into new scratch namespaces (NAMESPACE-drill-ID), wait for its
    workloads, run the checks, report the recovery time by phase, and remove what it made.

    The checks: every object restored (or skipped with a reason), every volume's data
    verified while restored and each file-level volume's tree digest equal to the one
    its backup recorded, each PostgreSQL database's row counts equal to its dump's, and
    --verify-command in the restored pods. The report is written beside the backup on
    the location (kept on this machine for a ReadOnly one). Exits 1 when the drill fails.

    Examples:
      salvage drill run --from-backup wp-nightly
      salvage drill run --schedule wp-daily      # its newest Completed backup
      salvage drill run --from-backup wp-nightly --verify-selector app=pg \\
          --verify-command 'sh -c "test -s /data/PG_VERSION"'
    """
    app = app_of(ctx)
    if bool(from_backup) == bool(schedule):
        raise UsageError("Which backup? Pass --from-backup NAME or --backup-schedule NAME (one of them).",
                         hint="List backups with `salvage backup get`.")
    target = open_location(location)
    from_backup = drilled_backup(target, from_backup, schedule)
    request = DrillRequest(
        backup=from_backup, name=name or "",
        verify_command=tuple(shlex.split(verify_command)) if verify_command else (),
        verify_container=verify_container, verify_selector=verify_selector, timeout=timeout,
        keep_on_failure=keep_on_failure, repo_password=repo_password(app, repo_password_file, repo_password_secret),
        aws=AwsSettings(region=aws_region, endpoint_url=aws_endpoint_url, cluster_name=cluster_name),
        gce=GceSettings(project=gce_project, endpoint=gce_endpoint, cluster_name=cluster_name,
                        credentials=gce_credentials),
    )
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(kube_client(app))
        view = stack.enter_context(ProgressView(app.terminal, f"drill of {from_backup}"))
        report = run_drill(client, target, request, view.update)
    show(app, report.to_json())
    if report.phase != "Passed":
        raise typer.Exit(1)


def show(app: Any, report: dict[str, Any]) -> None:
    """A drill report as `drill run` and `drill describe` print it."""
    term = app.terminal
    if app.output is not OutputFormat.table:
        term.data(report)
        return
    rto = report.get("recovery_time_seconds")
    rpo = report.get("recovery_point_seconds")
    term.line(f"Name:           {report['name']}\nBackup:         {report['backup']} (location {report['location']})\n"
              f"Phase:          {report['phase']}\nStarted:        {report['started']}\n"
              f"Recovery point: {_seconds(rpo)} (backup completed {report.get('backup_completed') or '?'})\n"
              f"Recovery time:  {_seconds(rto) if rto is not None else 'none: the drill failed'}\n"
              f"Namespaces:     " + ", ".join(f"{a} -> {b}" for a, b in report["namespaces"].items()) + "\n")
    term.table(["phase", "seconds"], [(p, f"{s:.1f}") for p, s in report["phases"].items()])
    term.table(["check", "result", "detail"],
               [(c["name"], "passed" if c["passed"] else "FAILED", c["detail"]) for c in report["checks"]])
    for error in report["errors"]:
        term.error(error)
    for left in report["cleanup"]:
        term.warn(f"clean-up: {left}")
    if report.get("stored_at"):
        term.info(f"report: {report['stored_at']}")


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value < 120:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"
