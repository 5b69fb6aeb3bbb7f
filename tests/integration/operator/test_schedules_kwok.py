"""Schedules on a kwok cluster, the operator in a thread: a seconds-level cron makes
backups on time and retention deletes the old ones through the engine (location and
objects); a paused schedule makes none; a time zone shifts the next run; Forbid skips runs
while a backup of the schedule still runs; a bad cron is Invalid with the reason."""

from __future__ import annotations

import datetime as dt

import pytest

from salvage.catalog.reader import list_backups
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from tests.support.builders import namespace
from tests.support.cli import salvage
from tests.support.operator import (
    create, custom, filesystem_location, install_crds, operator_thread, status, stuck_claim,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _schedule(name: str, cron: str, template: dict, **spec: object) -> dict:  # type: ignore[type-arg]
    return custom("Schedule", name, {"schedule": cron, "template": template, **spec})


def _backups(kube, ns: str, schedule: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return list(kube.list(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/backups",
                          labelSelector=f"salvage.io/schedule={schedule}"))


def _on_location(store, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    backups = list_backups(open_location(LocationSpec("local", "filesystem", str(store))).store)
    return sorted(b.name for b in backups if b.name.startswith(prefix))


def test_schedules(cluster, kube, ns, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app, stuck = f"{ns}-app", f"{ns}-stuck"
    for name in (app, stuck):
        kube.create("/api/v1/namespaces", namespace(name))
    kube.create(f"/api/v1/namespaces/{app}/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    stuck_claim(kube, stuck, "data")
    store = tmp_path / "data" / "backups"  # the CLI's default location, with SALVAGE_DATA_DIR below
    create(kube, ns, filesystem_location("local", str(store)))
    quick = {"includeNamespaces": [app], "snapshotVolumes": False}
    create(kube, ns, _schedule("every2", "*/2 * * * * *", quick, retention={"keepLast": 2, "floorCompleted": 1}))
    create(kube, ns, _schedule("paused", "* * * * * *", quick, paused=True))
    create(kube, ns, _schedule("tokyo", "0 3 * * *", quick, timeZone="Asia/Tokyo"))
    create(kube, ns, _schedule("utc", "0 3 * * *", quick))
    create(kube, ns, _schedule("bad", "61 * * * *", quick))
    create(kube, ns, _schedule("forbid", "* * * * * *", {"includeNamespaces": [stuck], "snapshotTimeoutSeconds": 20}))

    with operator_thread(cluster, ns, "scheduler") as ctl:
        # Retention ran: more than keepLast were made, and the location keeps only the newest 2.
        wait_for(lambda: len([b for b in _backups(kube, ns, "every2")
                          if (b.get("status") or {}).get("phase") == "Completed"]) >= 2
                 and int(ctl.ctx.metrics.registry.get_sample_value(
                     "salvage_backup_attempts_total", {"schedule": "every2"}) or 0) >= 4,
                 timeout=60, what="every2 made 4 backups")
        first = min(b["metadata"]["name"] for b in _backups(kube, ns, "every2"))
        wait_for(lambda: first not in _on_location(store, "every2-"), timeout=30, what=f"retention deleted {first}")
        assert not kube.exists(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/backups/{first}")
        # keepLast 2: the two newest Completed, and at most one still being written.
        assert len(_on_location(store, "every2-")) <= 3
        listed = salvage(None, "backup", "get", env={"SALVAGE_DATA_DIR": str(tmp_path / "data"),
                                                     "SALVAGE_CONFIG_DIR": str(tmp_path / "config")})
        rows = [line.split() for line in listed.stdout.splitlines() if line.startswith("every2-")]
        assert rows and all(row[-1] == "every2" for row in rows if row[1] == "Completed"), listed.stdout
        every2 = status(kube, ns, "schedules", "every2")
        assert every2["phase"] == "Enabled" and every2["lastSuccessful"]

        assert _backups(kube, ns, "paused") == []
        assert status(kube, ns, "schedules", "paused")["phase"] == "Paused"
        tokyo = dt.datetime.fromisoformat(status(kube, ns, "schedules", "tokyo")["nextRun"].replace("Z", "+00:00"))
        utc = dt.datetime.fromisoformat(status(kube, ns, "schedules", "utc")["nextRun"].replace("Z", "+00:00"))
        assert (tokyo.hour, utc.hour) == (18, 3)  # 03:00 in Tokyo is 18:00 UTC
        bad = status(kube, ns, "schedules", "bad")
        assert bad["phase"] == "Invalid" and "minute" in bad["reason"], bad

        forbid = wait_for(lambda: (s := status(kube, ns, "schedules", "forbid")).get("missedRuns", 0) >= 2 and s,
                          timeout=30, what="forbid skipped runs")
        assert len(_backups(kube, ns, "forbid")) == 1, "Forbid: never two backups of one schedule at once"
        assert "still running" in forbid["reason"]
        assert len(_on_location(store, "forbid-")) <= 1, _on_location(store, "forbid-")

        sample = ctl.ctx.metrics.registry.get_sample_value
        assert sample("salvage_schedule_expected_interval_seconds", {"schedule": "every2"}) == 2
        delays = sample("salvage_schedule_delay_seconds_sum", {"schedule": "every2"}) / \
            sample("salvage_schedule_delay_seconds_count", {"schedule": "every2"})
        print(f"mean firing delay of every2: {delays * 1000:.0f} ms")
        assert delays < 2
    for name in (app, stuck):
        kube.delete(f"/api/v1/namespaces/{name}")
