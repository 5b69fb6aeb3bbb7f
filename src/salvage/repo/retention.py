"""Which snapshots a retention policy keeps (restic's semantics: --keep-last/hourly/...).

Snapshots are grouped by host and paths; within a group, newest first, a snapshot is
kept if it is among the ``last`` newest, or if it is the newest of one of the ``n`` most
recent hours/days/ISO weeks/months/years that have snapshots (model/retention_periods.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from salvage.model.retention_periods import kept_by
from salvage.repo.snapshots import Snapshot


@dataclass(frozen=True)
class RetentionPolicy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    @property
    def empty(self) -> bool:
        return not any((self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly))


def apply_policy(snapshots: list[Snapshot], policy: RetentionPolicy) -> tuple[list[Snapshot], list[Snapshot]]:
    """(keep, forget); an empty policy keeps everything."""
    if policy.empty:
        return list(snapshots), []
    groups: dict[tuple[str, tuple[str, ...]], list[Snapshot]] = {}
    for snapshot in snapshots:
        groups.setdefault((snapshot.wire["hostname"], tuple(snapshot.wire["paths"])), []).append(snapshot)
    keep_ids: set[str] = set()
    for group in groups.values():
        newest_first = sorted(group, key=lambda s: (s.time, s.id), reverse=True)
        rules = kept_by([s.time for s in newest_first], last=policy.last, hourly=policy.hourly,
                        daily=policy.daily, weekly=policy.weekly, monthly=policy.monthly, yearly=policy.yearly)
        keep_ids.update(s.id for s, kept in zip(newest_first, rules) if kept)
    keep = [s for s in snapshots if s.id in keep_ids]
    forget = [s for s in snapshots if s.id not in keep_ids]
    return keep, forget
