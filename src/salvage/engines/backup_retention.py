"""Retention: which backups to keep, grandfather-father-son with a floor of good backups.

The rules, as restic's ``forget`` (model/retention_periods.py) with a floor added:

- **Completed** backups fill the buckets. ``keep_last`` keeps the newest N; ``hourly`` ...
  ``yearly`` keep the newest backup of each of the newest N hours (days, ISO weeks, months,
  years) that have one, counted in ``time_zone``; a period without a backup does not use
  up a count. The newest ``floor_completed`` Completed backups are always kept, whatever
  their age and whatever the counts say, so a run of failures never expires the last good
  backup. Completed backups no rule keeps are deleted.
- **PartiallyFailed** backups (some items or volumes missing) never fill a bucket or count
  toward the floor. Those newer than the newest Completed backup are kept by the same
  counts applied to them alone (no floor): a volume that fails every night must not wipe
  the history of everything else. Once a Completed backup is newer, they are deleted.
- **Failed** backups are deleted, except the newest finished backup when it failed: it is
  kept to show why, until a newer backup finishes.
- **New**, **InProgress** and **Incomplete** (no manifest: it may still be being written)
  backups are never deleted, nor one started after ``now`` (a skewed clock), nor one in a
  phase retention does not know.

Planning is pure (no I/O) and idempotent: planning again over the kept backups keeps them
all. Deleting is the caller's job, through :mod:`salvage.engines.deletion`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

from salvage.engines.cron import zone
from salvage.model.errors import UsageError
from salvage.model.retention_periods import kept_by

COMPLETED, PARTIALLY_FAILED, FAILED = "Completed", "PartiallyFailed", "Failed"
NEVER_DELETED = {"New": "not started yet", "InProgress": "in progress",
                 "Incomplete": "Incomplete (no manifest): it may still be being written"}

@dataclass(frozen=True)
class RetentionPolicy:
    keep_last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    floor_completed: int = 1
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name != "time_zone" and (not isinstance(value, int) or value < 0):
                raise UsageError(f"Retention {field.name.replace('_', '-')} is {value!r}; it must be 0 or more.",
                                 hint="Counts say how many backups (or periods) to keep; 0 keeps none by that rule.")
        zone(self.time_zone)


@dataclass(frozen=True)
class Candidate:
    name: str
    started: datetime | None  # None: unknown (an Incomplete backup has no manifest to say)
    phase: str


@dataclass(frozen=True)
class Decision:
    name: str
    keep: bool
    reasons: tuple[str, ...]


def plan(candidates: Iterable[Candidate], policy: RetentionPolicy, now: datetime) -> list[Decision]:
    """One decision per candidate, newest first (unknown start times last). Times are aware."""
    ordered = sorted(candidates, key=_newest_first)
    naive = [c.name for c in ordered if c.started is not None and c.started.utcoffset() is None]
    if naive or now.utcoffset() is None:
        raise ValueError(f"retention needs aware datetimes (naive: {naive or ['now']})")
    reasons: dict[str, list[str]] = {c.name: [] for c in ordered}
    tz = zone(policy.time_zone)
    dated = [c for c in ordered if c.started is not None and c.started <= now]
    completed = [c for c in dated if c.phase == COMPLETED]
    _keep_floor(completed, policy.floor_completed, reasons)
    _keep_buckets(completed, policy, tz, reasons, suffix="")
    newest_good = completed[0].started if completed else None
    partial = [c for c in dated if c.phase == PARTIALLY_FAILED and (newest_good is None or c.started > newest_good)]
    _keep_buckets(partial, policy, tz, reasons, suffix=" (PartiallyFailed, newer than every Completed)")
    finished = [c for c in dated if c.phase in (COMPLETED, PARTIALLY_FAILED, FAILED)]
    if finished and finished[0].phase == FAILED:
        reasons[finished[0].name].append("newest finished backup, Failed: kept until a newer one finishes")
    return [_decide(c, reasons[c.name], now, newest_good) for c in ordered]


def _keep_floor(completed: Sequence[Candidate], floor: int, reasons: dict[str, list[str]]) -> None:
    for candidate in completed[:floor]:
        reasons[candidate.name].append(f"floor: among the newest {floor} Completed")


def _keep_buckets(backups: Sequence[Candidate], policy: RetentionPolicy, tz: ZoneInfo,
                  reasons: dict[str, list[str]], *, suffix: str) -> None:
    """``backups`` newest first: keep_last, then the newest in each of the newest periods."""
    times = [c.started.astimezone(tz) for c in backups if c.started is not None]
    rules = kept_by(times, last=policy.keep_last, hourly=policy.hourly, daily=policy.daily,
                    weekly=policy.weekly, monthly=policy.monthly, yearly=policy.yearly)
    for candidate, kept in zip(backups, rules):
        for rule, period in kept:
            reasons[candidate.name].append(
                f"last: among the newest {policy.keep_last}{suffix or ' Completed'}" if rule == "last"
                else f"{rule} {period}{suffix}")


def _decide(candidate: Candidate, rules: list[str], now: datetime, newest_good: datetime | None) -> Decision:
    if candidate.phase in NEVER_DELETED:
        return Decision(candidate.name, True, (NEVER_DELETED[candidate.phase],))
    if candidate.phase not in (COMPLETED, PARTIALLY_FAILED, FAILED):
        return Decision(candidate.name, True, (f"phase {candidate.phase!r} is unknown to retention: kept",))
    if candidate.started is None:
        return Decision(candidate.name, True, ("start time unknown: kept",))
    if candidate.started > now:
        return Decision(candidate.name, True, ("started after now (clock skew?): kept",))
    if rules:
        return Decision(candidate.name, True, tuple(rules))
    return Decision(candidate.name, False, (_why_not(candidate, newest_good),))


def _why_not(candidate: Candidate, newest_good: datetime | None) -> str:
    if candidate.phase == FAILED:
        return "Failed, and a newer backup finished"
    if candidate.phase == PARTIALLY_FAILED and newest_good is not None and newest_good >= candidate.started:
        return "PartiallyFailed, and a newer Completed backup exists"
    return "no rule keeps it"


def _newest_first(candidate: Candidate) -> tuple[bool, float, str]:
    started = candidate.started.timestamp() if candidate.started is not None else 0.0
    return (candidate.started is None, -started, candidate.name)
