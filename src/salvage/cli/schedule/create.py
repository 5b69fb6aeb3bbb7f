"""``salvage schedule create NAME --schedule CRON``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    Cron, CronTimeZone, DefaultVolumesToFsBackup, ExcludeNamespaces, ExcludeResources, IncludeClusterResources,
    IncludeNamespaces, IncludeResources, KeepDaily, KeepFloor, KeepHourly, KeepLast, KeepMonthly, KeepWeekly,
    KeepYearly, Location, OperatorNamespace, Selector, SnapshotTimeout, SnapshotVolumes, Ttl, VolumeSnapshotProvider,
    backup_selection,
)
from salvage.engines.backup import BackupRequest
from salvage.engines.schedule_objects import ScheduleRequest, create_schedule
from salvage.model.durations import parse_duration
from salvage.model.errors import UsageError


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Schedule name (its backups are NAME-YYYYMMDDHHMMSS).")],
    schedule: Cron = "",
    time_zone: CronTimeZone = "UTC",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused (`schedule unpause` starts it).")] = False,
    concurrency_policy: Annotated[str, typer.Option("--concurrency-policy", help="Forbid (skip a run while a "
                                                                                  "backup of it runs) or Allow.")] = "Forbid",
    namespace: OperatorNamespace = "salvage",
    include_namespaces: IncludeNamespaces = None,
    exclude_namespaces: ExcludeNamespaces = None,
    selector: Selector = None,
    include_resources: IncludeResources = None,
    exclude_resources: ExcludeResources = None,
    include_cluster_resources: IncludeClusterResources = "auto",
    snapshot_volumes: SnapshotVolumes = True,
    location: Location = None,
    ttl: Ttl = None,
    snapshot_timeout: SnapshotTimeout = 300.0,
    default_volumes_to_fs_backup: DefaultVolumesToFsBackup = False,
    volume_snapshot_provider: VolumeSnapshotProvider = "auto",
    repo_password_secret: Annotated[str | None, typer.Option(
        "--repo-password-secret", help="Secret in the operator's namespace holding the repository password: "
                                       "NAME[:KEY] (key default `password`).")] = None,
    keep_last: KeepLast = None,
    keep_hourly: KeepHourly = None,
    keep_daily: KeepDaily = None,
    keep_weekly: KeepWeekly = None,
    keep_monthly: KeepMonthly = None,
    keep_yearly: KeepYearly = None,
    keep_floor: KeepFloor = None,
) -> None:
    """Create a Schedule: the operator backs up on each cron firing and applies its retention.

    Examples:
      # 02:30 Paris time; 7 dailies, 4 weeklies, never fewer than 3 good ones
      salvage schedule create wp-nightly --schedule "30 2 * * *" \\
          --time-zone Europe/Paris --include-namespaces wp \\
          --keep-daily 7 --keep-weekly 4 --keep-floor 3

      # Every 15 seconds (six fields: seconds first), the newest 5 kept
      salvage schedule create often --schedule "*/15 * * * * *" \\
          --include-namespaces wp --keep-last 5
    """
    if not schedule:
        raise UsageError("When? Pass --schedule CRON.", hint='e.g. --schedule "30 2 * * *" (02:30 every day).')
    counts = {"keepLast": keep_last, "hourly": keep_hourly, "daily": keep_daily, "weekly": keep_weekly,
              "monthly": keep_monthly, "yearly": keep_yearly, "floorCompleted": keep_floor}
    template = BackupRequest(
        name=name, selection=backup_selection(include_namespaces, exclude_namespaces, include_resources,
                                              exclude_resources),
        selector=selector, cluster_resources=include_cluster_resources, snapshot_volumes=snapshot_volumes,
        ttl_seconds=parse_duration(ttl), snapshot_timeout=snapshot_timeout,
        default_volumes_to_fs=default_volumes_to_fs_backup, volume_snapshot_provider=volume_snapshot_provider)
    request = ScheduleRequest(
        name=name, cron=schedule, template=template, time_zone=time_zone, paused=paused,
        concurrency_policy=concurrency_policy, retention={k: v for k, v in counts.items() if v is not None},
        ttl=ttl, location=location, password_secret=repo_password_secret)
    app = app_of(ctx)
    with kube_client(app) as client:
        create_schedule(client, namespace, request)
    app.terminal.line(f"schedule {name} created ({schedule}, {time_zone}{', paused' if paused else ''})")
