"""A Drill object becomes the drill engine's request; its outcome sets the drill metrics;
only the newest reports of a Drill are kept; the scratch namespaces a stopped operator's
drill left are removed by the next one, and that drill is Failed, its namespaces named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from salvage.catalog import layout
from salvage.engines.drill import list_drills, prune_reports
from salvage.engines.drill_scratch import marks
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from salvage.operator.context import OperatorContext
from salvage.operator.drill_metrics import drill_metrics
from salvage.operator.drills import DrillReconciler, drill_request
from salvage.operator.metrics import Metrics
from tests.support.fake_kube import FakeApi

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


# -- drills a stopped operator left ---------------------------------------------------------------

def _scratch_ns(name: str, drill: str, owner: str, runner: str, *, labelled: bool = True) -> dict:  # type: ignore[type-arg]
    labels, annotations = marks(drill, "app", owner, runner)
    return {"metadata": {"name": name, "labels": labels if labelled else {}, "annotations": annotations}}


def _drill_obj(name: str, status: dict | None = None) -> dict:  # type: ignore[type-arg]
    return {"metadata": {"name": name, "namespace": "salvage", "creationTimestamp": "2026-12-02T04:00:00Z"},
            "spec": {"schedule": "30 4 * * *", "backupName": "app", "paused": True}, "status": status or {}}


def test_an_operator_removes_what_a_stopped_one_left_and_fails_that_drill_naming_its_namespaces() -> None:
    drills = "/apis/salvage.io/v1alpha1/namespaces/salvage/drills"
    api = FakeApi({
        f"{drills}/nightly": _drill_obj("nightly", {"lastDrill": "nightly-20261201043000", "consecutiveFailures": 1}),
        f"{drills}/weekly": _drill_obj("weekly"),
        "/api/v1/namespaces/app-drill-aaa111": _scratch_ns("app-drill-aaa111", "nightly-20261202043000",
                                                           "Drill salvage/nightly", "operator-old"),
        "/api/v1/namespaces/app-drill-bbb222": _scratch_ns("app-drill-bbb222", "weekly-20261202043000",
                                                           "Drill salvage/weekly", "operator-old"),
        "/api/v1/namespaces/app-drill-ccc333": _scratch_ns("app-drill-ccc333", "nightly-20261202050000",
                                                           "Drill salvage/nightly", "operator-new"),
        "/api/v1/namespaces/app-drill-ddd444": _scratch_ns("app-drill-ddd444", "gone-20261202043000",
                                                           "Drill salvage/gone", "operator-old"),
        "/api/v1/namespaces/app-drill-eee555": _scratch_ns("app-drill-eee555", "x", "Drill salvage/nightly",
                                                           "operator-old", labelled=False),
        "/api/v1/namespaces/app-drill-fff666": _scratch_ns("app-drill-fff666", "y", "Drill other/nightly",
                                                           "operator-old"),
    })
    metrics = Metrics()
    reconciler = DrillReconciler(OperatorContext(api.client(), "salvage", "operator-new", metrics))

    reconciler.reconcile(api.objects[f"{drills}/nightly"])

    assert sorted(p.rsplit("/", 1)[1] for p in api.objects if p.startswith("/api/v1/namespaces/")) == [
        "app-drill-bbb222",  # weekly's: its own reconcile settles it
        "app-drill-ccc333",  # this operator's own drill
        "app-drill-eee555",  # not labelled: not a drill's
        "app-drill-fff666",  # another operator namespace's Drill
    ]
    status = api.objects[f"{drills}/nightly"]["status"]
    assert status["lastResult"] == "Failed" and status["lastDrill"] == "nightly-20261202043000"
    assert "interrupted" in status["reason"] and "operator-old" in status["reason"], status
    assert "app-drill-aaa111 were removed" in status["reason"], status
    assert status["failures"] == ["interrupted: namespace app-drill-aaa111 removed"]
    assert status["consecutiveFailures"] == 2 and status["phase"] == "Paused"
    assert metrics.registry.get_sample_value("salvage_drill_failures_total", {"drill": "nightly"}) == 1
    assert metrics.registry.get_sample_value("salvage_drill_last_failed", {"drill": "nightly"}) == 1


def test_a_drill_whose_outcome_was_written_is_not_failed_again_when_its_namespace_is_removed() -> None:
    drills = "/apis/salvage.io/v1alpha1/namespaces/salvage/drills"
    done = {"lastDrill": "nightly-20261202043000", "lastResult": "Passed", "consecutiveFailures": 0}
    api = FakeApi({f"{drills}/nightly": _drill_obj("nightly", done),
                   "/api/v1/namespaces/app-drill-aaa111": _scratch_ns(
                       "app-drill-aaa111", "nightly-20261202043000", "Drill salvage/nightly", "operator-old")})
    DrillReconciler(OperatorContext(api.client(), "salvage", "operator-new", Metrics())).reconcile(
        api.objects[f"{drills}/nightly"])
    assert "/api/v1/namespaces/app-drill-aaa111" not in api.objects
    assert api.objects[f"{drills}/nightly"]["status"]["lastResult"] == "Passed"
