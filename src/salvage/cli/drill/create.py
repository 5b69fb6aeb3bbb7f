"""``salvage drill create NAME --schedule CRON (--from-backup B | --backup-schedule S)``."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.engines.custom_objects import create_object
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    Cron, CronTimeZone, Location, OperatorNamespace, VerifyCommand, VerifyContainer, VerifySelector,
)
from salvage.cli.output import OutputFormat
from salvage.engines import cron
from salvage.engines.password_secret import SecretRef
from salvage.model.errors import SalvageError, UsageError
from salvage.operator.crds import API_VERSION
from salvage.operator.drills import DEFAULT_KEEP, drill_spec
from salvage.operator.manifests import render_yaml


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Drill name (its reports are NAME-YYYYMMDDHHMMSS).")],
    schedule: Cron = "",
    time_zone: CronTimeZone = "UTC",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused (it runs no drill until "
                                                          "spec.paused is false).")] = False,
    from_backup: Annotated[str | None, typer.Option("--from-backup", help="Drill this backup each "
                                                                          "time.")] = None,
    backup_schedule: Annotated[str | None, typer.Option(
        "--backup-schedule", help="Drill the newest Completed backup of this Schedule each time.")] = None,
    location: Location = None,
    verify_command: VerifyCommand = None,
    verify_container: VerifyContainer = None,
    verify_selector: VerifySelector = None,
    timeout: Annotated[int | None, typer.Option(
        "--timeout", min=1, help="Seconds to wait for readiness, and for each verify command "
                                 "(default 600).")] = None,
    keep_reports: Annotated[int, typer.Option("--keep-reports", min=1, help="How many of its reports to keep; "
                                                                            "older ones are deleted.")] = DEFAULT_KEEP,
    repo_password_secret: Annotated[str | None, typer.Option(
        "--repo-password-secret", help="Secret in the operator's namespace holding the repository password "
                                       "(fs volumes, database dumps): NAME[:KEY] (key default `password`).")] = None,
    namespace: OperatorNamespace = "salvage",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the Drill (YAML, or -o json) and create "
                                                            "nothing.")] = False,
) -> None:
    """Create a Drill: the operator restores a backup into scratch namespaces on each cron
    firing, checks it, and keeps the report (see `salvage drill run`).

    Examples:
      # Every night at 04:30 Berlin time, the newest backup of Schedule shop-daily
      salvage drill create shop-nightly --schedule "30 4 * * *" \\
          --time-zone Europe/Berlin --backup-schedule shop-daily \\
          --verify-selector app=pg \\
          --verify-command 'sh -c "test -s /var/lib/postgresql/data/PG_VERSION"'

      # One backup, every Sunday; print the object for GitOps instead
      salvage drill create golden --schedule "0 6 * * 0" --from-backup golden-2026 \\
          --dry-run -o yaml
    """
    if not schedule:
        raise UsageError(f"When should Drill {name!r} run? Pass --schedule CRON; nothing was created.",
                         hint='e.g. --schedule "30 4 * * *" (04:30 every day).')
    if bool(from_backup) == bool(backup_schedule):
        raise UsageError(f"What should Drill {name!r} restore? Pass --from-backup NAME or --backup-schedule NAME "
                         "(exactly one); nothing was created.",
                         hint="List backups with `salvage backup get`, schedules with `salvage schedule get`.")
    _check_cron(name, schedule, time_zone)
    secret = _secret(name, repo_password_secret, namespace)
    try:
        command = tuple(shlex.split(verify_command)) if verify_command else ()
    except ValueError as exc:
        raise UsageError(f"--verify-command {verify_command!r} cannot be split into words ({exc}); nothing "
                         "was created.", hint="Check its quotes, e.g. 'sh -c \"test -s /data/app.db\"'.") from exc
    spec = drill_spec(schedule=schedule, time_zone=time_zone, paused=paused, backup=from_backup,
                      backup_schedule=backup_schedule, location=location, verify_command=command,
                      verify_container=verify_container, verify_selector=verify_selector, timeout_seconds=timeout,
                      keep_reports=keep_reports, password_secret=(secret.name, secret.key) if secret else None)
    body = {"apiVersion": API_VERSION, "kind": "Drill", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}
    app = app_of(ctx)
    if dry_run:
        if app.output is OutputFormat.table:
            app.terminal.raw(render_yaml([body]))
        else:
            app.terminal.data(body)
        return
    with kube_client(app) as client:
        create_object(client, namespace, body,
                      exists_hint=f"Delete it first (`salvage drill delete {name} -n {namespace}`), or choose "
                                  "another name.")
    what = f"backup {from_backup}" if from_backup else f"the newest Completed backup of Schedule {backup_schedule}"
    app.terminal.line(f"drill {name} created: {what} at {schedule} ({time_zone}{', paused' if paused else ''})")


def _check_cron(name: str, schedule: str, time_zone: str) -> None:
    try:
        cron.validate(schedule, time_zone)
    except SalvageError as exc:
        hint = exc.hint
        if len(schedule.split()) == 1 and not schedule.startswith("@"):
            hint = (f"--schedule is when the drill runs (cron, e.g. \"30 4 * * *\"); to drill the backups of "
                    f"Schedule {schedule!r}, pass --backup-schedule {schedule}.")
        what = exc.message.replace("Schedule ", "cron ", 1) if exc.message.startswith("Schedule ") else exc.message
        raise UsageError(f"Drill {name!r} was not created: {what}", hint=hint) from exc


def _secret(name: str, text: str | None, namespace: str) -> SecretRef | None:
    if not text:
        return None
    ref = SecretRef.parse(text)
    if ref.namespace not in (None, namespace):
        raise UsageError(f"Drill {name!r} was not created: the operator reads Secrets only in its own namespace "
                         f"{namespace!r}, not {ref.namespace!r}.",
                         hint=f"Copy the Secret into {namespace!r} and pass --repo-password-secret "
                              f"{ref.name}:{ref.key}.")
    return ref
