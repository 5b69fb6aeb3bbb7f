"""Which snapshots a retention policy keeps (restic's semantics: --keep-last/hourly/...).

Snapshots are grouped by host and paths; within a group, newest first, a snapshot is
kept if it is among the ``last`` newest, or if it is the newest of one of the ``n`` most
recent hours/days/ISO weeks/months/years that have snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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


_BUCKETS: list[tuple[str, Callable[[datetime], object]]] = [
    ("hourly", lambda t: (t.year, t.month, t.day, t.hour)),
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: t.isocalendar()[:2]),
    ("monthly", lambda t: (t.year, t.month)),
    ("yearly", lambda t: t.year),
]


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
        keep_ids.update(s.id for s in newest_first[: policy.last])
        for name, bucket_of in _BUCKETS:
            budget = getattr(policy, name)
            seen: set[object] = set()
            for snapshot in newest_first:
                if len(seen) >= budget:
                    break
                bucket = bucket_of(snapshot.time)
                if bucket not in seen:
                    seen.add(bucket)
                    keep_ids.add(snapshot.id)
    keep = [s for s in snapshots if s.id in keep_ids]
    forget = [s for s in snapshots if s.id not in keep_ids]
    return keep, forget
