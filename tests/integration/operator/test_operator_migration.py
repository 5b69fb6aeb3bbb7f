"""The migration: a second cluster whose operator points a ReadOnly BackupLocation at the
first cluster's location sees its backups (synced into Backup objects) and restores one
through a Restore object, writing nothing to the location."""

from __future__ import annotations

import os

import pytest

from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from tests.support.builders import namespace
from tests.support.operator import create, custom, filesystem_location, install_crds, operator_thread, status
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _files(root) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {os.path.relpath(os.path.join(d, f), root): (os.stat(os.path.join(d, f)).st_mtime_ns,
                                                        os.stat(os.path.join(d, f)).st_size)
            for d, _, files in os.walk(root) for f in files}


def test_second_cluster_restores_from_a_read_only_location(kube, ns, second_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    app = f"{ns}-app"
    kube.create("/api/v1/namespaces", namespace(app))
    kube.create(f"/api/v1/namespaces/{app}/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}})
    outcome = create_backup(kube, open_location(LocationSpec("shared", "filesystem", str(store))),
                            BackupRequest("moving", Selection((app,)), snapshot_volumes=False))
    assert outcome.phase == "Completed"
    before = _files(store)

    with second_cluster.client() as other:
        install_crds(other)
        other.create("/api/v1/namespaces", namespace("salvage"))
        create(other, "salvage", filesystem_location("shared", str(store), accessMode="ReadOnly"))
        with operator_thread(second_cluster, "salvage", "migrator"):
            synced = wait_for(lambda: status(other, "salvage", "backups", "moving").get("phase")
                              and status(other, "salvage", "backups", "moving"), timeout=30, what="backup synced")
            assert synced["phase"] == "Completed" and synced["synced"]
            assert status(other, "salvage", "backuplocations", "shared")["phase"] == "Available"
            create(other, "salvage", custom("Restore", "arrive", {"backupName": "moving", "wait": False}))
            restored = wait_for(lambda: status(other, "salvage", "restores", "arrive").get("phase") in
                                ("Completed", "PartiallyFailed", "Failed")
                                and status(other, "salvage", "restores", "arrive"), timeout=60, what="restored")
        assert restored["phase"] == "Completed", restored
        assert other.get(f"/api/v1/namespaces/{app}/configmaps/settings")["data"] == {"k": "v"}
    assert _files(store) == before, "a ReadOnly location was written"
    kube.delete(f"/api/v1/namespaces/{app}")
