"""Snapshot data moved per claim or per StorageClass (``backup.salvage.io/method:
snapshot-move-data``), not only for a whole backup (--snapshot-move-data)."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.engines import backup as backup_engine
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.locations import Location, LocationSpec
from salvage.storage.memory import MemoryStore
from tests.support.fake_kube import FakeApi

JSON = dict[str, Any]
ANN = "backup.salvage.io/method"
CSI_PV = {"csi": {"driver": "disk.csi.test", "volumeHandle": "h"}, "persistentVolumeReclaimPolicy": "Delete"}


def _resource(name: str, kind: str, namespaced: bool) -> JSON:
    return {"name": name, "kind": kind, "namespaced": namespaced, "verbs": ["list", "get"]}


def _claim(name: str, storage_class: str, annotations: dict[str, str]) -> JSON:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "wp", "annotations": annotations},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "1Gi"}}, "volumeName": f"pv-{name}"},
            "status": {"phase": "Bound"}}


def _cluster() -> FakeApi:
    objects: dict[str, JSON] = {
        "/api": {"versions": ["v1"]}, "/apis": {"groups": []},
        "/api/v1": {"resources": [_resource("namespaces", "Namespace", False),
                                  _resource("persistentvolumes", "PersistentVolume", False),
                                  _resource("persistentvolumeclaims", "PersistentVolumeClaim", True)]},
        "/api/v1/namespaces/wp": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wp"}},
        "/apis/storage.k8s.io/v1/storageclasses/moved": {
            "metadata": {"name": "moved", "annotations": {ANN: "snapshot-move-data"}}},
        "/apis/storage.k8s.io/v1/storageclasses/plain": {"metadata": {"name": "plain"}},
    }
    for name, storage_class, wanted in (("by-claim", "plain", {ANN: "snapshot-move-data"}),
                                             ("by-class", "moved", {}),
                                             ("claim-says-snapshot", "moved", {ANN: "snapshot"}),
                                             ("plain", "plain", {})):
        objects[f"/api/v1/namespaces/wp/persistentvolumeclaims/{name}"] = _claim(name, storage_class, wanted)
        objects[f"/api/v1/persistentvolumes/pv-{name}"] = {"metadata": {"name": f"pv-{name}"}, "spec": CSI_PV}
    return FakeApi(objects)


@pytest.mark.parametrize(("whole_backup", "moved"), [
    (False, ["by-claim", "by-class"]),
    (True, ["by-claim", "by-class", "claim-says-snapshot", "plain"]),
])
def test_snapshot_data_is_moved_for_the_claims_that_ask(monkeypatch: pytest.MonkeyPatch, whole_backup: bool,
                                                         moved: list[str]) -> None:
    calls: list[str] = []

    def move(client: Any, methods: Any, claim: JSON, pv: JSON, backup: str, **_: Any) -> JSON:
        calls.append(claim["metadata"]["name"])
        return {"namespace": "wp", "pvc": claim["metadata"]["name"], "method": "fs", "snapshotHandle": "s"}

    monkeypatch.setattr(backup_engine, "move_snapshot_data", move)
    location = Location(LocationSpec("mem", "filesystem", "/nowhere"), MemoryStore())
    outcome = create_backup(_cluster().client(), location, BackupRequest(
        "b", Selection(include_namespaces=("wp",)), repo_password="pw", snapshot_move_data=whole_backup))
    assert sorted(calls) == sorted(moved)
    methods = {v["pvc"]: v["method"] for v in outcome.volumes}
    assert all(methods[name] == "fs" for name in moved)
    # The others went to a CSI snapshot (which fails here: the fake has no snapshot API).
    assert all(methods[name] != "fs" for name in methods if name not in moved)
