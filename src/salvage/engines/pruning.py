"""Pruning a location: plan retention over its backups, then delete the rest through the
same engine as ``salvage backup delete`` (oldest first). Never on a ReadOnly location."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from salvage.catalog.reader import BackupSummary, list_backups
from salvage.engines.deletion import delete_backup
from salvage.engines.backup_retention import Candidate, Decision, RetentionPolicy, plan
from salvage.engines.selection import label_selector_matches
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import SalvageError, UsageError

# The label a Schedule's backups carry (in their manifest), naming the schedule.
SCHEDULE_LABEL = "salvage.io/schedule"
_UNREADABLE = ("Incomplete", "UnsupportedFormat")  # no manifest to read labels from


@dataclass(frozen=True)
class PlannedBackup:
    backup: BackupSummary
    decision: Decision


@dataclass
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, SalvageError] = field(default_factory=dict)
    snapshots: int = 0
    objects: int = 0


def schedule_selector(schedule: str) -> str:
    return f"{SCHEDULE_LABEL}={schedule}"


def plan_prune(location: Location, policy: RetentionPolicy, *, selector: str | None = None,
               now: datetime | None = None) -> list[PlannedBackup]:
    """A decision for each backup on ``location`` whose labels match ``selector``, newest first.

    With a selector, Incomplete backups (no manifest, so no labels) are left out: whose
    they are cannot be known. Without one, they are listed and kept.
    """
    backups = {b.name: b for b in list_backups(location.store)
               if (not selector or b.phase not in _UNREADABLE) and label_selector_matches(b.labels, selector)}
    candidates = [Candidate(b.name, _parse_time(b.started), b.phase) for b in backups.values()]
    decisions = plan(candidates, policy, now or datetime.now(UTC))
    return [PlannedBackup(backups[d.name], d) for d in decisions]


def refuse_read_only(location: Location) -> None:
    if location.spec.read_only:
        raise UsageError(f"Location {location.name!r} is ReadOnly: pruning would delete from it, so nothing "
                         "was deleted.",
                         hint="Add --dry-run to see what retention would delete, or prune where the "
                              "location is ReadWrite.")


def prune(client: KubeClient | None, location: Location, planned: list[PlannedBackup], *,
          aws: AwsSettings | None = None, gce: GceSettings | None = None, azure: AzureSettings | None = None,
          repo_password: str | None = None,
          deleting: Callable[[str], None] = lambda name: None) -> PruneResult:
    """Delete every backup ``planned`` does not keep, oldest first; one that fails to delete
    is recorded in ``failed`` and the others still go."""
    refuse_read_only(location)
    result = PruneResult()
    for item in reversed(planned):
        if item.decision.keep:
            continue
        name = item.backup.name
        deleting(name)
        try:
            snapshots, objects = delete_backup(client, location, name, aws, repo_password, gce, azure)
        except SalvageError as exc:
            result.failed[name] = exc
            continue
        result.deleted.append(name)
        result.snapshots += snapshots
        result.objects += objects
    return result


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
