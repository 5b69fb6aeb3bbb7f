"""``salvage backup prune``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import App, app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AwsEndpointUrl, AzureCaBundle, AzureCredentials, AzureEndpoint, GceCredentials, GceEndpoint, KeepDaily,
    KeepFloor, KeepHourly, KeepLast, KeepMonthly, KeepWeekly, KeepYearly, Location, RepoPasswordFile,
    RepoPasswordSecret, repo_password,
)
from salvage.cli.output import OutputFormat
from salvage.engines.pruning import PlannedBackup, plan_prune, prune, refuse_read_only, schedule_selector
from salvage.engines.backup_retention import RetentionPolicy
from salvage.locations import open_location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import SalvageError, UsageError


def prune_backups(
    ctx: typer.Context,
    keep_last: KeepLast = None,
    keep_hourly: KeepHourly = None,
    keep_daily: KeepDaily = None,
    keep_weekly: KeepWeekly = None,
    keep_monthly: KeepMonthly = None,
    keep_yearly: KeepYearly = None,
    keep_floor: KeepFloor = None,
    time_zone: Annotated[str, typer.Option("--time-zone", help="Time zone of the hours, days, weeks... "
                                                                "(IANA name).")] = "UTC",
    selector: Annotated[str | None, typer.Option("--selector", "-l", help="Only backups with these labels, "
                                                                           "e.g. team=web.")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="Only the backups of this schedule.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be kept and deleted; delete "
                                                            "nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking (required to delete).")] = False,
    location: Location = None,
    aws_endpoint_url: AwsEndpointUrl = None,
    gce_endpoint: GceEndpoint = None,
    gce_credentials: GceCredentials = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    azure_endpoint: AzureEndpoint = None,
    azure_ca_bundle: AzureCaBundle = None,
    azure_credentials: AzureCredentials = None,
) -> None:
    """Delete the backups a retention policy does not keep (grandfather-father-son).

    Only Completed backups fill the counts; the newest --keep-floor Completed ones are
    never deleted; in-progress and incomplete backups are never deleted.

    Examples:
      # What would go if we kept 7 dailies and 4 weeklies of schedule wp?
      salvage backup prune --schedule wp --keep-daily 7 --keep-weekly 4 --dry-run

      # Do it
      salvage backup prune --schedule wp --keep-daily 7 --keep-weekly 4 --yes
    """
    app = app_of(ctx)
    counts = {"keep_last": keep_last, "hourly": keep_hourly, "daily": keep_daily, "weekly": keep_weekly,
              "monthly": keep_monthly, "yearly": keep_yearly, "floor_completed": keep_floor}
    if all(value is None for value in counts.values()):
        raise UsageError("Say what to keep: prune with no --keep-* option would keep only the newest Completed "
                         "backup.", hint="Pass e.g. --keep-daily 7 --keep-weekly 4 (add --dry-run to look first).")
    if selector and schedule:
        raise UsageError("--selector and --schedule both pick backups; pass one.",
                         hint=f"--schedule {schedule} is --selector {schedule_selector(schedule)}.")
    policy = RetentionPolicy(**{k: v for k, v in counts.items() if v is not None}, time_zone=time_zone)
    target = open_location(location)
    if not dry_run:
        refuse_read_only(target)
    planned = plan_prune(target, policy, selector=schedule_selector(schedule) if schedule else selector)
    doomed = [p.backup.name for p in planned if not p.decision.keep]
    if dry_run or not doomed:
        _show(app, planned, deleted=set())
        return
    if not yes:
        raise UsageError(f"Pruning would delete {len(doomed)} backup(s) from location {target.name!r}; "
                         "nothing was deleted.", hint="Look with --dry-run, then pass --yes to delete.")
    with kube_client(app) as client:
        result = prune(client, target, planned, aws=AwsSettings(endpoint_url=aws_endpoint_url),
                       gce=GceSettings(endpoint=gce_endpoint, credentials=gce_credentials),
                       azure=AzureSettings(endpoint=azure_endpoint, ca_bundle=azure_ca_bundle,
                                           credentials=azure_credentials),
                       repo_password=repo_password(app, repo_password_file, repo_password_secret),
                       deleting=lambda name: app.terminal.info(f"deleting backup {name} ..."))
    _show(app, planned, deleted=set(result.deleted))
    app.terminal.info(f"deleted {len(result.deleted)} backup(s): {result.objects} object(s), "
                      f"{result.snapshots} volume snapshot(s)")
    if result.failed:
        name, error = next(iter(result.failed.items()))
        raise SalvageError(f"{len(result.failed)} backup(s) could not be deleted ({', '.join(result.failed)}); "
                           f"{name}: {error.message}", hint=error.hint)


def _show(app: App, planned: list[PlannedBackup], *, deleted: set[str]) -> None:
    def decision(item: PlannedBackup) -> str:
        if item.decision.keep:
            return "keep"
        return "deleted" if item.backup.name in deleted else "delete"

    if app.output is not OutputFormat.table:
        app.terminal.data([{"name": p.backup.name, "started": p.backup.started, "phase": p.backup.phase,
                            "decision": decision(p), "reasons": list(p.decision.reasons)} for p in planned])
        return
    app.terminal.table(["name", "started", "phase", "decision", "why"],
                       [(p.backup.name, p.backup.started or "-", p.backup.phase, decision(p),
                         "; ".join(p.decision.reasons)) for p in planned])
