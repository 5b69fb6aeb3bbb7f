"""A Drill object becomes the drill engine's request; its outcome sets the drill metrics;
only the newest reports of a Drill are kept."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from salvage.catalog import layout
from salvage.engines.drill import list_drills, prune_reports
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from salvage.operator.drill_metrics import drill_metrics
from salvage.operator.drills import drill_request
from salvage.operator.metrics import Metrics

FIRING = dt.datetime(2026, 12, 2, 4, 30, tzinfo=dt.timezone.utc)


def test_a_drill_spec_to_request() -> None:
    obj = {"metadata": {"name": "shop-nightly", "namespace": "salvage"},
           "spec": {"schedule": "30 4 * * *", "scheduleName": "shop-daily",
                    "checks": {"verifyCommand": ["sh", "-c", "test -s /data/x"], "verifySelector": "app=pg",
                               "verifyContainer": "db", "timeoutSeconds": 120}}}
    request = drill_request(obj, "shop-daily-20261202030000", FIRING, "pw")
    assert request.name == "shop-nightly-20261202043000" and request.backup == "shop-daily-20261202030000"
    assert request.verify_command == ("sh", "-c", "test -s /data/x")
    assert (request.verify_selector, request.verify_container, request.timeout) == ("app=pg", "db", 120.0)
    assert request.owner == "Drill salvage/shop-nightly" and request.repo_password == "pw"


def test_a_long_drill_name_still_makes_a_valid_report_name() -> None:
    obj = {"metadata": {"name": "d" * 60, "namespace": "salvage"}, "spec": {"schedule": "@daily"}}
    name = drill_request(obj, "b", FIRING, None).name
    assert len(name) <= 63 and layout.check_name(name) and name.endswith("-20261202043000")
    assert drill_request(obj, "b", FIRING, None).timeout == 600


def test_outcomes_set_the_metrics() -> None:
    metrics = Metrics()
    drills = drill_metrics(metrics)
    assert drill_metrics(metrics) is drills, "one set per registry"
    drills.finished("d", True, ended=1000.0, recovery_time=9.5, recovery_point=3600.0,
                    phases={"verify": 0.2, "readiness": 4.7})
    drills.finished("d", False, ended=2000.0, recovery_time=None, recovery_point=60.0, phases={})
    sample = metrics.registry.get_sample_value
    assert sample("salvage_drill_success_total", {"drill": "d"}) == 1
    assert sample("salvage_drill_failures_total", {"drill": "d"}) == 1
    assert sample("salvage_drill_last_success_timestamp_seconds", {"drill": "d"}) == 1000.0
    assert sample("salvage_drill_recovery_time_seconds", {"drill": "d"}) == 9.5, "the last passing one's"
    assert sample("salvage_drill_recovery_point_seconds", {"drill": "d"}) == 60.0
    assert sample("salvage_drill_recovery_seconds", {"drill": "d", "phase": "readiness"}) == 4.7
    assert sample("salvage_drill_last_failed", {"drill": "d"}) == 1
    drills.last_passed_at("d", 500.0)
    assert sample("salvage_drill_last_success_timestamp_seconds", {"drill": "d"}) == 1000.0, "keeps the newest"


def test_only_the_newest_reports_of_a_drill_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    location = open_location(LocationSpec("here", "filesystem", str(tmp_path / "store")))
    for day, owner in ((1, "Drill s/a"), (2, "Drill s/a"), (3, "Drill s/b"), (4, "Drill s/a"), (5, "")):
        name = f"r{day}"
        report = {"name": name, "backup": "b", "owner": owner, "started": f"2026-12-0{day}T00:00:00Z"}
        location.store.put(layout.drill("b", name), json.dumps(report).encode())
    assert prune_reports(location, "Drill s/a", 2) == ["r1"]
    assert sorted(r["name"] for r in list_drills(location)) == ["r2", "r3", "r4", "r5"]
