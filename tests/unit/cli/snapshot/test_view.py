"""kubectl-like rows and ages for snapshot tables."""

from __future__ import annotations

import datetime as dt

import pytest

from salvage.cli.snapshot.view import age, row

NOW = dt.datetime(2026, 1, 10, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0s"), (45, "45s"), (119, "119s"), (192, "3m12s"), (300, "5m"), (45 * 60, "45m"),
    (5 * 3600 + 4 * 60, "5h4m"), (20 * 3600, "20h"), (3 * 86400 + 7 * 3600, "3d7h"), (40 * 86400, "40d"),
])
def test_ages_read_like_kubectl(seconds: int, shown: str) -> None:
    stamp = (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert age(stamp, NOW) == shown


def test_missing_times_are_blank() -> None:
    assert age(None, NOW) == ""


def test_a_row_before_the_controller_has_seen_the_snapshot() -> None:
    fresh = {"metadata": {"name": "s", "creationTimestamp": "2026-01-10T11:59:50Z"},
             "spec": {"source": {"persistentVolumeClaimName": "data"}}}
    assert row(fresh, NOW) == ["s", "false", "data", "", "", "", "", "10s"]
