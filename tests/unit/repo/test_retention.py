from __future__ import annotations

from datetime import datetime, timedelta, timezone

from salvage.repo.retention import RetentionPolicy, apply_policy
from salvage.repo.snapshots import Snapshot


def snap(n: int, when: datetime, host: str = "h") -> Snapshot:
    wire = {"time": when.isoformat().replace("+00:00", "Z"), "hostname": host, "paths": ["/data"]}
    return Snapshot(f"{n:064x}", wire)  # type: ignore[arg-type]


START = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Every 6 hours for 60 days.
SERIES = [snap(i, START + timedelta(hours=6 * i)) for i in range(240)]


def kept(policy: RetentionPolicy, snapshots: list[Snapshot] = SERIES) -> list[int]:
    keep, forget = apply_policy(snapshots, policy)
    assert len(keep) + len(forget) == len(snapshots)
    return [int(s.id, 16) for s in keep]


def test_empty_policy_keeps_everything() -> None:
    assert len(kept(RetentionPolicy())) == 240


def test_keep_last() -> None:
    assert kept(RetentionPolicy(last=3)) == [237, 238, 239]


def test_keep_daily_keeps_the_newest_of_each_day() -> None:
    assert kept(RetentionPolicy(daily=3)) == [231, 235, 239]


def test_keep_weekly_and_monthly_combine() -> None:
    # The series ends Sunday 2026-03-01 18:00: weekly picks it and Sunday 02-22 18:00 (211);
    # monthly picks it and 02-28 18:00 (235).
    assert kept(RetentionPolicy(weekly=2, monthly=2)) == [211, 235, 239]


def test_keep_yearly_and_hourly() -> None:
    assert kept(RetentionPolicy(yearly=5)) == [239]
    assert kept(RetentionPolicy(hourly=2)) == [238, 239]


def test_groups_by_host() -> None:
    mixed = [snap(1, START, "a"), snap(2, START + timedelta(hours=1), "b"), snap(3, START + timedelta(hours=2), "b")]
    assert kept(RetentionPolicy(last=1), mixed) == [1, 3]
