"""Restore against damaged repository data, on an in-memory location and API server: refused
before the first write when the preflight sees it; when it surfaces while a volume is
filled, everything the restore created is removed (or kept, when asked), the damaged files
named. Namespaces it creates carry the caller's marks (a drill's scratch namespaces). The same on the real cluster, object by object: tests/integration/engines/test_corruption_sweep.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from salvage.catalog import layout as catalog_layout
from salvage.catalog.reader import BackupReader
from salvage.catalog.writer import BackupWriter
from salvage.engines.backup_restore import RestoreRequest, restore_backup
from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.retry import NO_RETRY
from salvage.locations import Location, LocationSpec
from salvage.model.errors import KubernetesError
from salvage.repo import layout
from salvage.repo.errors import DamagedSnapshotError
from salvage.storage.counting import CountingStore
from salvage.storage.errors import StorageError
from salvage.storage.memory import MemoryStore
from salvage.volumes import fs
from salvage.volumes.method import FILLING, filling_value
from tests.support.damage import damage
from tests.support.fake_kube import FakeApi, ProvisioningApi

PASSWORD = "correct horse battery staple"
CLAIMS = "/api/v1/namespaces/wp/persistentvolumeclaims"


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


def test_a_namespace_the_restore_creates_carries_the_callers_marks(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    report = _restore(api, location, namespace_map={"wp": "wp-drill-1"},
                      namespace_labels={"salvage.io/drill-scratch": "true"},
                      namespace_annotations={"salvage.io/drill": "d"})
    assert report.phase == "Completed", report
    meta = api.objects["/api/v1/namespaces/wp-drill-1"]["metadata"]
    assert meta["labels"]["salvage.io/drill-scratch"] == "true" and meta["annotations"] == {"salvage.io/drill": "d"}


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



class _FailingReads:
    """The location's store, except that reading ``key`` fails as a connection cut mid-body does
    once the store's own retries are spent (after ``allowed`` reads of it that pass)."""

    def __init__(self, inner: Any, key: str, allowed: int = 0) -> None:
        self.inner, self.key, self.allowed = inner, key, allowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _refuse(self, key: str) -> None:
        if key == self.key:
            self.allowed -= 1
        if key == self.key and self.allowed < 0:
            raise StorageError(f"s3://bucket failed on `{key}`: connection reset by peer",
                               hint="Check the endpoint is reachable, then run the command again.")

    def get(self, key: str) -> bytes:
        self._refuse(key)
        return self.inner.get(key)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        self._refuse(key)
        return self.inner.get_range(key, start, length)


def test_a_volume_the_location_fails_to_deliver_stops_and_removes_what_was_created(
        location: Location, tmp_path: Path) -> None:
    """Found by tests/faults: the store failing mid-fill left the claim half filled and went on
    to create the rest; now it stops as damaged data does, and says why."""
    api = ProvisioningApi(tmp_path)
    location.store.inner = _FailingReads(location.store.inner, _data_pack(location))  # type: ignore[attr-defined]
    report = _restore(api, location)
    assert report.phase == "Failed" and report.stopped_by == "a volume whose data could not be read"
    assert any("could not be filled" in e and "connection reset by peer" in e for e in report.errors), report.errors
    assert report.removed == ["PersistentVolume pv-data-pg-0", "PersistentVolumeClaim wp/data-pg-0", "Namespace wp"]
    assert api.objects == {} and ("POST", "/api/v1/namespaces/wp/configmaps") not in api.writes


def test_the_location_failing_to_deliver_the_next_objects_stops_and_removes_what_was_created(
        location: Location, tmp_path: Path) -> None:
    """Found by tests/faults/test_store_outages.py: with the store gone once the claim was
    filled, the ConfigMaps' stream could not be read; the restore stopped leaving the
    namespace, claim and volume in place (with the API server there to remove them). Now it
    stops as for a volume it could not read, names what it could not read, and removes them."""
    api = ProvisioningApi(tmp_path)
    configmaps = next(e for e in BackupReader(location.store, "b").resources() if e["resource"] == "configmaps")
    key = catalog_layout.prefix("b") + configmaps["files"][0]
    # Read whole once by the check before the first change; the second read (to restore) fails.
    location.store.inner = _FailingReads(location.store.inner, key, allowed=1)  # type: ignore[attr-defined]
    report = _restore(api, location)
    assert report.phase == "Failed" and report.stopped_by == "the location failing mid-restore", report
    assert any("the configmaps of backup b could not be read" in e and f"`{key}`" in e
               and "Check the endpoint" in e for e in report.errors), report.errors
    assert report.removed == ["PersistentVolume pv-data-pg-0", "PersistentVolumeClaim wp/data-pg-0", "Namespace wp"]
    assert api.objects == {}


def test_keep_partial_keeps_what_was_created_when_the_location_fails(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    configmaps = next(e for e in BackupReader(location.store, "b").resources() if e["resource"] == "configmaps")
    location.store.inner = _FailingReads(  # type: ignore[attr-defined]
        location.store.inner, catalog_layout.prefix("b") + configmaps["files"][0], allowed=1)
    report = _restore(api, location, keep_partial=True)
    assert report.phase == "Failed" and report.removed == []
    assert report.kept == ["Namespace wp", "PersistentVolumeClaim wp/data-pg-0", "PersistentVolume pv-data-pg-0"]
    assert f"{CLAIMS}/data-pg-0" in api.objects


def test_the_api_server_out_of_reach_stops_the_restore_naming_what_it_made(
        location: Location, tmp_path: Path) -> None:
    """Found by the fault sweep: with the API server gone mid-run, each object failed after its
    retries, one after another, and the error named none of those already created."""
    api = ProvisioningApi(tmp_path)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/configmaps"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return api._handle(request)

    client = KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(handle),
                        retry=NO_RETRY)
    request = RestoreRequest(name="r", backup="b", repo_password=PASSWORD, timeout=10)
    with pytest.raises(KubernetesError) as raised:
        restore_backup(client, location, request)
    message = raised.value.message
    assert "Cannot reach the Kubernetes API" in message and "were left in place" in message
    assert "Namespace wp" in message and "PersistentVolumeClaim wp/data-pg-0" in message


def _half_filled(api: ProvisioningApi, location: Location, tmp_path: Path, filling: str | None = None) -> Path:
    """Namespace wp as a killed restore left it: the claim exists, bound, annotated as being
    filled, with one file of two written (and the other one's old bytes)."""
    record = next(iter(BackupReader(location.store, "b").volumes()))
    (tmp_path / "pv-data-pg-0" / "base").mkdir(parents=True)
    (tmp_path / "pv-data-pg-0" / "base" / "1259").write_bytes(b"part of it")
    api.objects["/api/v1/namespaces/wp"] = {"metadata": {"name": "wp"}}
    claim = _claim()
    claim["spec"]["volumeName"] = "pv-data-pg-0"
    claim["status"] = {"phase": "Bound"}
    claim["metadata"]["annotations"] = {FILLING: filling or filling_value(record)}
    api.objects[f"{CLAIMS}/data-pg-0"] = claim
    api.objects["/api/v1/persistentvolumes/pv-data-pg-0"] = {
        "metadata": {"name": "pv-data-pg-0"},
        "spec": {"hostPath": {"path": str(tmp_path / "pv-data-pg-0")}, "persistentVolumeReclaimPolicy": "Delete"}}
    return tmp_path / "pv-data-pg-0"


def test_a_claim_a_killed_restore_left_half_filled_is_filled_again(location: Location, tmp_path: Path) -> None:
    """Before: the claim "already exists; its volume is kept", and the workload started on
    half its files. Its filling annotation now says it holds part of this very volume."""
    api = ProvisioningApi(tmp_path)
    volume = _half_filled(api, location, tmp_path)
    report = _restore(api, location)
    assert report.phase == "Completed", report
    assert (volume / "PG_VERSION").read_text() == "16\n" and len((volume / "base" / "1259").read_bytes()) == 300_000
    assert FILLING not in api.objects[f"{CLAIMS}/data-pg-0"]["metadata"].get("annotations", {})


def test_a_claim_half_filled_from_other_data_stops_the_restore_and_is_kept(location: Location,
                                                                          tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    volume = _half_filled(api, location, tmp_path, filling="fs:another-snapshot")
    report = _restore(api, location)
    assert report.phase == "Failed" and report.stopped_by == "a claim left half-filled by an earlier run", report
    assert any("wp/data-pg-0 holds only part of its files" in e and "kubectl delete pvc -n wp data-pg-0" in e
               for e in report.errors), report.errors
    assert (volume / "base" / "1259").read_bytes() == b"part of it"  # nothing written into it
    assert f"{CLAIMS}/data-pg-0" in api.objects


def test_a_restored_claim_loses_its_filling_annotation_once_full(location: Location, tmp_path: Path) -> None:
    api = ProvisioningApi(tmp_path)
    assert _restore(api, location).phase == "Completed"
    assert ("PATCH", f"{CLAIMS}/data-pg-0") in api.requests
    assert FILLING not in api.objects[f"{CLAIMS}/data-pg-0"]["metadata"].get("annotations", {})


def test_a_claim_carries_its_filling_annotation_until_its_files_are_in(location: Location, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    class Watching(ProvisioningApi):
        def _handle(self, request: httpx.Request) -> httpx.Response:
            if request.method == "PATCH":  # the moment the fill is done: what the claim was until then
                seen.append(json.loads(json.dumps(self.objects[request.url.path])))
            return super()._handle(request)

    api = Watching(tmp_path)
    assert _restore(api, location).phase == "Completed"
    assert seen and FILLING in seen[0]["metadata"]["annotations"]
    assert (tmp_path / "pv-data-pg-0" / "PG_VERSION").exists()


class _Refusing(ProvisioningApi):
    """Refuses (``status``) every request after the first ``allowed`` writes."""

    def __init__(self, root: Path, status: int, allowed: int) -> None:
        super().__init__(root)
        self.status, self.allowed = status, allowed

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            if self.allowed <= 0:
                return httpx.Response(self.status, json={"kind": "Status", "code": self.status,
                                                         "message": "Unauthorized" if self.status == 401 else
                                                         f"{request.url.path} is forbidden"})
            self.allowed -= 1
        return super()._handle(request)


def test_rights_removed_mid_restore_name_what_it_created_and_left(location: Location, tmp_path: Path) -> None:
    """Found by tests/faults/test_credentials.py: with the RoleBinding deleted mid-run, the
    restore ended PartiallyFailed and named nothing of the namespace it had created."""
    report = _restore(_Refusing(tmp_path, 403, allowed=1), location)
    assert report.phase == "PartiallyFailed" and report.failures
    assert report.left == ["Namespace wp"], report


def test_a_token_revoked_mid_restore_stops_it_naming_what_it_created(location: Location, tmp_path: Path) -> None:
    with pytest.raises(KubernetesError) as info:
        _restore(_Refusing(tmp_path, 401, allowed=1), location)
    assert "the 1 object(s) it had created were left in place: Namespace wp" in info.value.message
