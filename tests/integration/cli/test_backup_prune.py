"""``backup prune`` over real backups of a small namespace, their start times set by the test:
the GFS set and the floor are kept, other schedules' backups are untouched, nothing goes
without --yes, and a ReadOnly location is refused without a write."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.engines import backup as backup_engine
from salvage.k8s.client import KubeClient
from tests.support.cli import salvage

pytestmark = pytest.mark.integration

# (name, schedule label, start time): the backup engine's clock is set to the start time.
HISTORY = [
    ("wp-0101", "wp", "2026-01-01T09:00:00Z"),
    ("wp-1001", "wp", "2026-10-01T09:00:00Z"),
    ("wp-1101a", "wp", "2026-11-01T03:00:00Z"),
    ("wp-1101b", "wp", "2026-11-01T21:00:00Z"),
    ("wp-1130", "wp", "2026-11-30T09:00:00Z"),
    ("wp-1201", "wp", "2026-12-01T09:00:00Z"),
    ("other-1101", "other", "2026-11-01T10:00:00Z"),
]


def _backup_at(monkeypatch: pytest.MonkeyPatch, cluster: LocalCluster, ns: str, name: str, schedule: str,
               started: str) -> None:
    # The first reading is the start time; later ones (completion, log lines) a little after.
    times: Iterator[str] = itertools.chain([started], itertools.repeat(started.replace(":00Z", ":30Z")))
    monkeypatch.setattr(backup_engine, "_now", lambda: next(times))
    made = salvage(cluster.kubeconfig, "backup", "create", name, "--include-namespaces", ns,
                   "--labels", f"salvage.io/schedule={schedule}")
    assert made.returncode == 0, made.stderr


def _backups(cluster: LocalCluster, *location: str) -> dict[str, str]:
    listed = json.loads(salvage(cluster.kubeconfig, "-o", "json", "backup", "get", *location).stdout)
    return {b["name"]: b["started"] for b in listed}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture
def history(cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> LocalCluster:
    kube.create(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    with pytest.MonkeyPatch.context() as clock:
        for name, schedule, started in HISTORY:
            _backup_at(clock, cluster, ns, name, schedule, started)
    assert _backups(cluster) == {name: started for name, _, started in HISTORY}
    return cluster


def test_prune_keeps_the_gfs_set_and_the_floor_of_one_schedule(history: LocalCluster, salvage_home: Path) -> None:
    cluster = history
    policy = ["--schedule", "wp", "--keep-daily", "2", "--keep-monthly", "3"]

    looked = salvage(cluster.kubeconfig, "-o", "json", "backup", "prune", *policy, "--dry-run")
    assert looked.returncode == 0, looked.stderr
    plan = {row["name"]: (row["decision"], row["reasons"]) for row in json.loads(looked.stdout)}
    assert plan == {
        "wp-1201": ("keep", ["floor: among the newest 1 Completed", "daily 2026-12-01", "monthly 2026-12"]),
        "wp-1130": ("keep", ["daily 2026-11-30", "monthly 2026-11"]),
        "wp-1101b": ("delete", ["no rule keeps it"]),
        "wp-1101a": ("delete", ["no rule keeps it"]),
        "wp-1001": ("keep", ["monthly 2026-10"]),
        "wp-0101": ("delete", ["no rule keeps it"]),
    }
    assert "other-1101" not in plan, "--schedule picks only that schedule's backups"
    table = salvage(cluster.kubeconfig, "backup", "prune", *policy, "--dry-run").stdout
    assert table.split("\n")[0].split() == ["NAME", "STARTED", "PHASE", "DECISION", "WHY"]
    assert len(_backups(cluster)) == len(HISTORY), "a dry run deletes nothing"

    unconfirmed = salvage(cluster.kubeconfig, "backup", "prune", *policy)
    assert unconfirmed.returncode == 2 and "would delete 3 backup(s)" in unconfirmed.stderr
    assert "--yes" in unconfirmed.stderr
    assert len(_backups(cluster)) == len(HISTORY)

    pruned = salvage(cluster.kubeconfig, "backup", "prune", *policy, "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert "deleted 3 backup(s)" in pruned.stderr
    assert set(_backups(cluster)) == {"wp-1201", "wp-1130", "wp-1001", "other-1101"}

    again = salvage(cluster.kubeconfig, "-o", "json", "backup", "prune", *policy, "--yes")
    assert again.returncode == 0, again.stderr
    assert {row["decision"] for row in json.loads(again.stdout)} == {"keep"}, "pruning twice deletes nothing more"

    # No counts at all: the floor alone keeps the newest Completed backup of the schedule.
    floor = salvage(cluster.kubeconfig, "backup", "prune", "-l", "salvage.io/schedule=wp", "--keep-floor", "1",
                    "--yes")
    assert floor.returncode == 0, floor.stderr
    assert set(_backups(cluster)) == {"wp-1201", "other-1101"}


def test_prune_refuses_a_read_only_location_without_writing(history: LocalCluster, salvage_home: Path) -> None:
    cluster = history
    root = salvage_home / "data" / "backups"
    assert (root / "backups" / "wp-0101").is_dir(), "the default location's directory"
    added = salvage(cluster.kubeconfig, "location", "add", "ro", "--path", str(root), "--access-mode", "ReadOnly")
    assert added.returncode == 0, added.stderr
    before = _tree(root)

    refused = salvage(cluster.kubeconfig, "backup", "prune", "--location", "ro", "--keep-last", "1", "--yes")

    assert refused.returncode == 2
    assert "Location 'ro' is ReadOnly" in refused.stderr and "nothing was deleted" in refused.stderr
    assert _tree(root) == before, "nothing in a ReadOnly location is written"
    looked = salvage(cluster.kubeconfig, "-o", "json", "backup", "prune", "--location", "ro", "--keep-last", "1",
                     "--dry-run")
    assert looked.returncode == 0, looked.stderr
    assert sum(row["decision"] == "delete" for row in json.loads(looked.stdout)) == len(HISTORY) - 1
    assert _tree(root) == before
