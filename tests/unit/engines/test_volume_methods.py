"""A volume method registered from the test tree goes through backup, restore and delete
like Salvage's own (volumes/registry.py): the engines never name a method."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from salvage.catalog.reader import BackupReader
from salvage.catalog.backup_records import VolumeRecord
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.deletion import delete_backup
from salvage.engines.backup_restore import RestoreRequest, restore_backup
from salvage.engines.selection import Selection
from salvage.locations import Location, LocationSpec
from salvage.model.errors import CloudError, UsageError
from salvage.storage.memory import MemoryStore
from salvage.volumes import registry
from salvage.volumes.method import ClaimSource, MethodContext, claim_record
from tests.support.fake_kube import FakeApi, ProvisioningApi

JSON = dict[str, Any]


class ToyMethod:
    """Copies a hostPath volume's directory into ``ToyMethod.shelf`` (its "snapshots")."""

    name = "toy"
    check_reads_data = False
    shelf: dict[str, Path] = {}
    refuse_restore = False

    def __init__(self, context: MethodContext) -> None:
        self.context = context

    def check_capture(self) -> None:
        return None

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        record = claim_record(claim, pv)
        handle = f"toy-{backup}-{claim['metadata']['name']}"
        self.shelf[handle] = Path(pv["spec"]["hostPath"]["path"])
        record.update(method=self.name, snapshotHandle=handle)
        return record

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        if self.refuse_restore:
            raise CloudError("the toy shelf is closed")

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        kept = self.shelf[record["snapshotHandle"]]
        return ClaimSource(fill=lambda pv: _copy(kept, Path(pv["spec"]["hostPath"]["path"])))

    def delete_captured(self, record: VolumeRecord) -> bool:
        return self.shelf.pop(record["snapshotHandle"], None) is not None

    def describe(self, record: VolumeRecord) -> str:
        return f"toy copy {record['snapshotHandle']}"


def _copy(source: Path, target: Path) -> list[str]:
    shutil.copytree(source, target, dirs_exist_ok=True)
    return []


@pytest.fixture
def toy() -> Iterator[type[ToyMethod]]:
    registry.register("toy", ToyMethod, choice="toy")
    ToyMethod.shelf, ToyMethod.refuse_restore = {}, False
    yield ToyMethod
    registry.unregister("toy")


def _resource(name: str, kind: str, namespaced: bool) -> JSON:
    return {"name": name, "kind": kind, "namespaced": namespaced, "verbs": ["list", "get", "create", "delete"]}


def _cluster(volume: Path) -> FakeApi:
    """Namespace wp with claim ``data`` bound to a hostPath PV at ``volume``, and a ConfigMap."""
    return FakeApi({
        "/api": {"versions": ["v1"]}, "/apis": {"groups": []},
        "/api/v1": {"resources": [_resource("namespaces", "Namespace", False),
                                  _resource("persistentvolumes", "PersistentVolume", False),
                                  _resource("persistentvolumeclaims", "PersistentVolumeClaim", True),
                                  _resource("configmaps", "ConfigMap", True)]},
        "/api/v1/namespaces/wp": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wp"}},
        "/api/v1/namespaces/wp/persistentvolumeclaims/data": {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "wp"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": "pv-old"},
            "status": {"phase": "Bound"}},
        "/api/v1/persistentvolumes/pv-old": {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-old"},
            "spec": {"hostPath": {"path": str(volume)}, "persistentVolumeReclaimPolicy": "Delete"}},
        "/api/v1/namespaces/wp/configmaps/app": {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "wp"}},
    })


def _backup(tmp_path: Path) -> tuple[Location, Path]:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "log.txt").write_text("before the snapshot\n")
    location = Location(LocationSpec("mem", "filesystem", "/nowhere"), MemoryStore())
    outcome = create_backup(_cluster(volume).client(), location, BackupRequest(
        "nightly", Selection(include_namespaces=("wp",)), volume_snapshot_provider="toy"))
    assert outcome.phase == "Completed", outcome.errors
    return location, volume


def test_a_registered_method_round_trips_through_backup_restore_and_delete(
        tmp_path: Path, toy: type[ToyMethod]) -> None:
    location, _volume = _backup(tmp_path)
    (record,) = _volumes(location)
    assert (record["method"], record["pvc"]) == ("toy", "data")
    assert list(toy.shelf) == [record["snapshotHandle"]]

    empty = ProvisioningApi(tmp_path / "new-cluster")
    (tmp_path / "new-cluster").mkdir()
    planned: list[Any] = []
    plan = restore_backup(empty.client(), location, RestoreRequest("r-plan", "nightly", dry_run=True, wait=False),
                          on_item=planned.append)
    assert plan.phase == "Planned" and empty.writes == []
    assert any(i.reason == f"toy copy {record['snapshotHandle']}" for i in planned), planned

    report = restore_backup(empty.client(), location, RestoreRequest("r", "nightly", wait=False))
    assert report.phase == "Completed", report
    claim = empty.objects["/api/v1/namespaces/wp/persistentvolumeclaims/data"]
    assert (tmp_path / "new-cluster" / claim["spec"]["volumeName"] / "log.txt").read_text() == "before the snapshot\n"
    assert "/api/v1/namespaces/wp/configmaps/app" in empty.objects

    snapshots, objects = delete_backup(None, location, "nightly")
    assert snapshots == 1 and objects > 0
    assert toy.shelf == {}, "the method deleted what it captured"


def test_a_methods_restore_check_refuses_before_any_change(tmp_path: Path, toy: type[ToyMethod]) -> None:
    location, _volume = _backup(tmp_path)
    toy.refuse_restore = True
    empty = ProvisioningApi(tmp_path)
    with pytest.raises(CloudError, match="toy shelf is closed"):
        restore_backup(empty.client(), location, RestoreRequest("r", "nightly", wait=False))
    assert empty.writes == []


def test_an_unregistered_method_is_no_choice(tmp_path: Path) -> None:
    location = Location(LocationSpec("mem", "filesystem", "/nowhere"), MemoryStore())
    with pytest.raises(UsageError, match="'toy' is not one of auto, csi, aws-ebs"):
        create_backup(_cluster(tmp_path).client(), location, BackupRequest("b", volume_snapshot_provider="toy"))


def _volumes(location: Location) -> list[VolumeRecord]:
    return BackupReader(location.store, "nightly").volumes()
