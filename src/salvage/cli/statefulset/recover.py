"""``salvage statefulset recover STS -n NS --from-backup B``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from salvage.cli.context import App, app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.cli.statefulset.manifest import load_statefulset
from salvage.engines.statefulset.naming import format_ordinals, parse_ordinals
from salvage.engines.statefulset.recover import (
    RecoverReport,
    RecoverRequest,
    recover_statefulset,
)
from salvage.locations import open_location
from salvage.model.errors import UsageError


def recover(
    ctx: typer.Context,
    statefulset: Annotated[str, typer.Argument(help="The StatefulSet to recover.")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Its namespace.")] = "default",
    from_backup: Annotated[str, typer.Option("--from-backup", help="The backup holding its volume snapshots.")] = "",
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Your own StatefulSet manifest, used "
                                                  "unchanged (default: the one in the backup).")] = None,
    ordinals: Annotated[str | None, typer.Option("--ordinals", help="Only these ordinals, e.g. 0,2.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace claims whose volume cannot be proven gone "
                                        "(never one whose data exists).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for volumes and pods.")] = 300.0,
    location: Location = None,
    verify_command: Annotated[str | None, typer.Option(
        "--verify-command", help="Run in each recovered pod once Running and show its output, "
                                 "e.g. \"tail -n 1 /data/log\".")] = None,
    verify_container: Annotated[str | None, typer.Option(
        "--verify-container", help="Container for --verify-command (default: the pod's only one).")] = None,
) -> None:
    """Re-create a StatefulSet's volumes from a backup, then the StatefulSet, which adopts them."""
    app = app_of(ctx)
    if not from_backup:
        raise UsageError("Which backup? Pass --from-backup NAME.", hint="List backups with `salvage backup get`.")
    request = RecoverRequest(
        statefulset=statefulset, namespace=namespace, backup=from_backup,
        manifest=load_statefulset(manifest, statefulset) if manifest else None,
        ordinals=parse_ordinals(ordinals), force=force, dry_run=dry_run, timeout=timeout,
        verify_command=tuple(shlex.split(verify_command)) if verify_command else (),
        verify_container=verify_container)
    target = open_location(location)
    with kube_client(app) as client, ProgressView(app.terminal, f"recover {statefulset}") as view:
        report = recover_statefulset(client, target, request, view.update)
    _print(app, report)
    if report.phase == "VerificationFailed":
        raise typer.Exit(1)


def _print(app: App, report: RecoverReport) -> None:
    term, plan = app.terminal, report.plan
    if app.output is not OutputFormat.table:
        term.data(report.to_json())
        return
    head = f"Plan to recover StatefulSet {plan.namespace}/{plan.statefulset} from backup {plan.backup}"
    term.line(head + (" (dry run: nothing changed)" if report.dry_run else ""))
    rows = [("StatefulSet", plan.statefulset, plan.statefulset_action, f"{plan.replicas} replica(s)")]
    if plan.service:
        rows.append(("Service", plan.service, "create", "missing; from the backup"))
    rows += [(f"claim (ordinal {s.ordinal})", s.claim, s.action.value, s.reason) for s in plan.steps]
    term.table(["object", "name", "action", "detail"], rows)
    if not report.dry_run:
        term.info(f"recovered {plan.namespace}/{plan.statefulset} (ordinals {format_ordinals(plan.ordinals)}) "
                  f"in {report.seconds:.1f}s; pods Running: {', '.join(report.pods)}")
    for check in report.verifications:
        term.line(f"verify {check['pod']}: {_verdict(check)}")
        for line in (check["stdout"] + check["stderr"]).splitlines():
            term.line(f"  {line}")


def _verdict(check: dict[str, Any]) -> str:
    if check["message"]:
        return f"FAILED ({check['message']})"
    return "ok" if check["exitCode"] == 0 else f"FAILED (exit {check['exitCode']})"
