"""Restore against damaged repository data, on an in-memory location and API server: refused
before the first write when the preflight sees it; when it surfaces while a volume is
filled, everything the restore created is removed (or kept, when asked), the damaged files
named. The same on the real cluster, object by object: tests/integration/engines/test_corruption_sweep.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from salvage.catalog import layout as catalog_layout
from salvage.catalog.writer import BackupWriter
from salvage.engines.restore import RestoreRequest, restore_backup
from salvage.locations import Location, LocationSpec
from salvage.repo import layout
from salvage.repo.errors import DamagedSnapshotError
from salvage.storage.counting import CountingStore
from salvage.storage.memory import MemoryStore
from salvage.volumes import fs
from tests.support.damage import damage
from tests.support.fake_kube import FakeApi

PASSWORD = "correct horse battery staple"
CLAIMS = "/api/v1/namespaces/wp/persistentvolumeclaims"


class ProvisioningApi(FakeApi):
    """Binds each new claim to a new hostPath PV under ``root`` at once, and removes the PV
    with its claim (reclaim policy Delete), as a provisioner would."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def _handle(self, request: httpx.Request) -> httpx.Response:
        response = super()._handle(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/persistentvolumeclaims") and response.status_code == 201:
            claim = json.loads(request.content)
            pv = f"pv-{claim['metadata']['name']}"
            (self.root / pv).mkdir()
            stored = self.objects[f"{path}/{claim['metadata']['name']}"]
            stored["spec"]["volumeName"] = pv
            stored["status"] = {"phase": "Bound"}
            self.objects[f"/api/v1/persistentvolumes/{pv}"] = {
                "metadata": {"name": pv},
                "spec": {"hostPath": {"path": str(self.root / pv)}, "persistentVolumeReclaimPolicy": "Delete"}}
        if request.method == "DELETE" and "/persistentvolumeclaims/" in path:
            self.objects.pop(f"/api/v1/persistentvolumes/pv-{path.rsplit('/', 1)[1]}", None)
        return response


def _claim() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-pg-0", "namespace": "wp"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": "pv-old"}}


@pytest.fixture
def location(tmp_path: Path) -> Location:
    """Backup ``b`` of namespace wp: a claim whose files went into the repository, and a ConfigMap."""
    store = MemoryStore()
    source = tmp_path / "volume"
    (source / "base").mkdir(parents=True)
    (source / "base" / "1259").write_bytes(os.urandom(300_000))
    (source / "PG_VERSION").write_text("16\n")
    repo = fs.repository(store, PASSWORD, create=True)
    record = fs.capture(repo, _claim(), {"metadata": {"name": "pv-old"}, "spec": {"hostPath": {"path": str(source)}}},
                        "b")
    writer = BackupWriter(store, "b")
    for resource, kind, obj in (
            ("namespaces", "Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wp"}}),
            ("persistentvolumeclaims", "PersistentVolumeClaim", _claim()),
            ("configmaps", "ConfigMap", {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "pg-config", "namespace": "wp"}, "data": {"a": "b"}})):
        stream = writer.resource("", "v1", resource, kind, resource != "namespaces")
        stream.add(obj)
        stream.flush()
    writer.put_json(catalog_layout.volumes("b"), [record])
    writer.finish({"formatVersion": catalog_layout.FORMAT_VERSION, "kind": "Backup", "name": "b",
                   "phase": "Completed", "resources": [], "files": {}})  # type: ignore[typeddict-item]
    return Location(LocationSpec("mem", "filesystem", "/nowhere"), CountingStore(store))


def _data_pack(location: Location) -> str:
    repo = fs.repository(location.store, PASSWORD, create=False, read_only=True)
    pack = next(loc.pack_id for _b, loc in repo.index.items() if loc.type == "data")
    return f"{fs.REPOSITORY_PREFIX}/{layout.pack_key(pack)}"


def _restore(api: FakeApi, location: Location, **options: Any):  # type: ignore[no-untyped-def]
    request = RestoreRequest(name="r", backup="b", repo_password=PASSWORD, timeout=10, **options)
    return restore_backup(api.client(), location, request)


def test_a_healthy_backup_restores(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    report = _restore(api, location)
    assert report.phase == "Completed", report
    assert (tmp_path / "pv-data-pg-0" / "PG_VERSION").read_text() == "16\n"
    assert "/api/v1/namespaces/wp/configmaps/pg-config" in api.objects


def test_a_pack_of_the_wrong_size_is_refused_before_any_write(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    with damage(location.store, _data_pack(location), "truncate"), pytest.raises(DamagedSnapshotError) as info:
        _restore(api, location)
    assert "volume wp/data-pg-0:/base/1259" in info.value.message and "Nothing was restored" in (info.value.hint or "")
    assert api.writes == []


def test_verify_data_refuses_a_flipped_byte_before_any_write(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    with damage(location.store, _data_pack(location), "flip"), pytest.raises(DamagedSnapshotError, match="hash"):
        _restore(api, location, verify_data=True)
    assert api.writes == []


def test_damage_found_while_filling_removes_what_the_restore_created(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    with damage(location.store, _data_pack(location), "flip"):
        report = _restore(api, location)
    assert report.phase == "Failed"
    assert any("volume wp/data-pg-0" in e and "base/1259" in e for e in report.errors), report.errors
    assert report.removed == ["PersistentVolume pv-data-pg-0", "PersistentVolumeClaim wp/data-pg-0", "Namespace wp"]
    assert api.objects == {}, "nothing it created is left"
    assert ("POST", "/api/v1/namespaces/wp/configmaps") not in api.writes, "nothing created after the damage"


def test_keep_partial_keeps_what_was_created(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    with damage(location.store, _data_pack(location), "flip"):
        report = _restore(api, location, keep_partial=True)
    assert report.phase == "Failed" and report.removed == []
    assert report.kept == ["Namespace wp", "PersistentVolumeClaim wp/data-pg-0", "PersistentVolume pv-data-pg-0"]
    assert f"{CLAIMS}/data-pg-0" in api.objects and not any(m == "DELETE" for m, _p in api.writes)


def test_a_rollback_never_removes_what_existed_before(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    api.objects["/api/v1/namespaces/wp"] = {"metadata": {"name": "wp"}}
    with damage(location.store, _data_pack(location), "flip"):
        report = _restore(api, location)
    assert report.removed == ["PersistentVolume pv-data-pg-0", "PersistentVolumeClaim wp/data-pg-0"]
    assert list(api.objects) == ["/api/v1/namespaces/wp"]

