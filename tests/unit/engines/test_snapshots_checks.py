"""Every check before a snapshot or a restore is made, on a fake API: refusals write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.engines.volume_snapshot_restore import RestoreRequest, restore_snapshot
from salvage.engines.volume_snapshots import CreateRequest, create_snapshot, snapshot_class_for
from salvage.k8s.api_groups import SNAPSHOTS as API
from salvage.model.errors import NotFoundError, SnapshotError, UsageError
from tests.support.fake_kube import FakeApi

CLAIMS = "/api/v1/namespaces/ns/persistentvolumeclaims"
DEFAULT = {"snapshot.storage.kubernetes.io/is-default-class": "true"}


def _class(name: str, driver: str, default: bool = False) -> tuple[str, dict[str, Any]]:
    meta: dict[str, Any] = {"name": name, "annotations": DEFAULT if default else {}}
    return f"{API}/volumesnapshotclasses/{name}", {"metadata": meta, "driver": driver}


def _world(*, phase: str = "Bound", csi: bool = True, classes: tuple[tuple[str, Any], ...] = ()) -> FakeApi:
    pv_spec: dict[str, Any] = {"csi": {"driver": "disk.example.com", "volumeHandle": "h"}} if csi else {"hostPath": {}}
    return FakeApi({
        API: {"kind": "APIResourceList", "groupVersion": "snapshot.storage.k8s.io/v1"},
        f"{CLAIMS}/data": {"metadata": {"name": "data", "namespace": "ns"},
                           "spec": {"volumeName": "pv-1", "storageClassName": "fast",
                                    "resources": {"requests": {"storage": "1Gi"}}},
                           "status": {"phase": phase}},
        "/api/v1/persistentvolumes/pv-1": {"metadata": {"name": "pv-1"}, "spec": pv_spec},
        **dict(classes or (_class("disks", "disk.example.com", default=True), _class("other", "nfs.example.com"))),
    })


def test_the_default_class_of_the_volume_driver_is_chosen() -> None:
    api = _world(classes=(_class("a", "disk.example.com"), _class("b", "disk.example.com", default=True),
                          _class("c", "nfs.example.com", default=True)))
    assert snapshot_class_for(api.client(), None, "disk.example.com")["metadata"]["name"] == "b"


def test_a_lone_class_of_the_driver_needs_no_default_mark() -> None:
    api = _world(classes=(_class("only", "disk.example.com"),))
    assert snapshot_class_for(api.client(), None, "disk.example.com")["metadata"]["name"] == "only"


def test_two_candidate_classes_without_one_default_are_ambiguous() -> None:
    api = _world(classes=(_class("a", "disk.example.com"), _class("b", "disk.example.com")))
    with pytest.raises(UsageError, match="no single default") as err:
        snapshot_class_for(api.client(), None, "disk.example.com")
    assert (err.value.hint or "").startswith("VolumeSnapshotClasses for driver disk.example.com: a, b; mark one")


def test_no_class_for_the_driver() -> None:
    with pytest.raises(SnapshotError, match="No VolumeSnapshotClass exists for driver"):
        snapshot_class_for(_world(classes=(_class("x", "nfs.example.com"),)).client(), None, "disk.example.com")


@pytest.mark.parametrize(("api", "request_", "error", "says"), [
    (_world(), CreateRequest("s", "ns", "ghost"), NotFoundError, "PersistentVolumeClaim ns/ghost does not exist."),
    (_world(phase="Pending"), CreateRequest("s", "ns", "data"), SnapshotError, "is Pending, not Bound"),
    (_world(csi=False), CreateRequest("s", "ns", "data"), SnapshotError, "PersistentVolume pv-1 of claim ns/data is not"),
    (_world(), CreateRequest("s", "ns", "data", snapshot_class="other"), UsageError,
     "VolumeSnapshotClass other is for driver nfs.example.com, but the volume belongs to driver disk.example.com."),
    (_world(), CreateRequest("s", "ns", "data", snapshot_class="gone"), NotFoundError,
     "VolumeSnapshotClass gone does not exist."),
])
def test_a_refused_snapshot_writes_nothing(api: FakeApi, request_: CreateRequest, error: type[Exception],
                                           says: str) -> None:
    with pytest.raises(error) as err:
        create_snapshot(api.client(), request_)
    assert says in str(err.value)
    assert api.writes == []


def test_an_existing_snapshot_name_is_refused() -> None:
    api = _world()
    api.objects[f"{API}/namespaces/ns/volumesnapshots/s"] = {"metadata": {"name": "s"}}
    with pytest.raises(UsageError, match="VolumeSnapshot ns/s already exists."):
        create_snapshot(api.client(), CreateRequest("s", "ns", "data"))
    assert api.writes == []


def _restorable(api: FakeApi) -> FakeApi:
    api.objects[f"{API}/namespaces/ns/volumesnapshots/s"] = {
        "metadata": {"name": "s", "namespace": "ns"}, "spec": {"source": {"persistentVolumeClaimName": "data"}},
        "status": {"readyToUse": True, "restoreSize": "1Gi", "boundVolumeSnapshotContentName": "c"},
    }
    api.objects[f"{API}/volumesnapshotcontents/c"] = {"metadata": {"name": "c"},
                                                       "spec": {"driver": "disk.example.com"}}
    for name, provisioner in (("fast", "disk.example.com"), ("slow", "disk.example.com"), ("nfs", "nfs.example.com")):
        api.objects[f"/apis/storage.k8s.io/v1/storageclasses/{name}"] = {
            "metadata": {"name": name}, "provisioner": provisioner}
    return api


def test_restore_takes_the_source_claim_class_and_size() -> None:
    api = _restorable(_world())
    claim = restore_snapshot(api.client(), RestoreRequest("s", "ns", "copy"))
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert api.writes == [("POST", CLAIMS)]


@pytest.mark.parametrize(("request_", "error", "says"), [
    (RestoreRequest("s", "ns", "data"), UsageError, "PersistentVolumeClaim ns/data already exists"),
    (RestoreRequest("s", "ns", "copy", storage_class="nfs"), UsageError,
     "StorageClass nfs provisions for nfs.example.com, but the snapshot belongs to driver disk.example.com."),
    (RestoreRequest("s", "ns", "copy", storage_class="none"), NotFoundError, "StorageClass none does not exist."),
    (RestoreRequest("ghost", "ns", "copy"), NotFoundError, "VolumeSnapshot ns/ghost does not exist."),
])
def test_a_refused_restore_writes_nothing(request_: RestoreRequest, error: type[Exception], says: str) -> None:
    api = _restorable(_world())
    with pytest.raises(error, match=None) as err:
        restore_snapshot(api.client(), request_)
    assert says in str(err.value)
    assert api.writes == []


def test_a_snapshot_that_is_not_ready_is_not_restored() -> None:
    api = _restorable(_world())
    snapshot = api.objects[f"{API}/namespaces/ns/volumesnapshots/s"]
    snapshot["status"] = {"readyToUse": False, "error": {"message": "disk on fire"}}
    with pytest.raises(SnapshotError, match="is not ready to use: disk on fire."):
        restore_snapshot(api.client(), RestoreRequest("s", "ns", "copy"))
    assert api.writes == []


def test_a_cluster_without_the_snapshot_api_is_named() -> None:
    from salvage.engines.volume_snapshots import get_snapshot, list_snapshots

    client = FakeApi().client()
    with pytest.raises(SnapshotError, match="does not serve snapshot.storage.k8s.io/v1") as err:
        list_snapshots(client, "ns")
    assert "external-snapshotter" in (err.value.hint or "")
    with pytest.raises(SnapshotError, match="does not serve snapshot.storage.k8s.io/v1"):
        get_snapshot(client, "ns", "s")
