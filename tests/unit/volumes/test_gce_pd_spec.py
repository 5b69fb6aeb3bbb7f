"""The pure GCE PD rules: which disk a PV names, GCE's names and labels, disk types, the PV."""

from __future__ import annotations

import re
from typing import Any

import pytest

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import CloudError
from salvage.volumes.gce_pd_spec import (
    check_disk_type,
    disk_ref,
    is_gce_pd,
    label_value,
    labels,
    persistent_volume_spec,
    region_of,
    resource_name,
)
from salvage.volumes.registry import method_for

HANDLE = "projects/shop-prod/zones/us-central1-b/disks/pvc-0a1b"


def csi_pv(handle: str = HANDLE) -> dict[str, Any]:
    return {"metadata": {"name": "pv-1"},
            "spec": {"csi": {"driver": "pd.csi.storage.gke.io", "volumeHandle": handle, "fsType": "ext4"}}}


def in_tree_pv(zone: str | None = "europe-west1-b") -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    return {"metadata": {"name": "pv-2", "labels": labels}, "spec": {"gcePersistentDisk": {"pdName": "data-disk"}}}


def test_the_disk_of_a_csi_pv_comes_from_its_handle() -> None:
    ref = disk_ref(csi_pv())
    assert (ref.project, ref.zone, ref.disk, ref.form, ref.fs_type) == (
        "shop-prod", "us-central1-b", "pvc-0a1b", "csi", "ext4")


def test_the_disk_of_an_in_tree_pv_takes_its_zone_from_labels_or_affinity() -> None:
    ref = disk_ref(in_tree_pv())
    assert (ref.project, ref.zone, ref.disk, ref.form) == (None, "europe-west1-b", "data-disk", "gcePersistentDisk")
    pv = in_tree_pv(None)
    pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "topology.gke.io/zone", "operator": "In", "values": ["us-east1-c"]}]}]}}
    assert disk_ref(pv).zone == "us-east1-c"


@pytest.mark.parametrize(("pv", "message"), [
    (in_tree_pv(None), "names GCE disk 'data-disk' but not its zone"),
    (csi_pv("projects/p/regions/nowhere/disks/d"), "not a GCE disk"),
    (csi_pv("projects/p/regions/us-central1/disks/Bad_Name"), "which is not a disk name"),
    (csi_pv("projects/p/zones/us-central1-b/disks/Bad_Name"), "which is not a disk name"),
    (csi_pv("projects/p/zones/nowhere/disks/d"), "'nowhere' is not a GCE zone name"),
    ({"metadata": {"name": "pv-3"}, "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}},
     "is not a GCE persistent disk"),
])
def test_a_pv_that_names_no_usable_disk_is_refused(pv: dict[str, Any], message: str) -> None:
    with pytest.raises(CloudError, match=message):
        disk_ref(pv)


def test_auto_sends_gce_disks_of_both_forms_to_gce_pd() -> None:
    assert is_gce_pd(csi_pv()) and is_gce_pd(in_tree_pv())
    assert method_for(csi_pv(), "auto") == method_for(in_tree_pv(), "auto") == "gce-pd"
    assert method_for(csi_pv(), "csi") == "csi-snapshot", "an explicit choice is kept"


def test_labels_and_names_keep_gce_rules() -> None:
    assert region_of("europe-west1-b") == "europe-west1"
    assert label_value("Shop.Prod/www-web-0") == "shop-prod-www-web-0"
    assert len(label_value("x" * 80)) == 63
    assert labels(backup="nightly", cluster=None) == {"salvage-backup": "nightly"}
    long = resource_name("a" * 70, "www-web-0", salt="1")
    for name in (long, resource_name("Nightly.2026", "data", salt="1"), resource_name("--", salt="1")):
        assert re.fullmatch(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?", name), name
    assert resource_name("n", "p", salt="1") != resource_name("n", "p", salt="2")


def test_disk_types_and_sizes_gce_cannot_create_are_refused() -> None:
    record: VolumeRecord = {"namespace": "shop", "pvc": "www-web-0", "volumeType": "pd-ssd", "sizeGiB": 10}
    check_disk_type(record)
    with pytest.raises(CloudError, match="cannot create a 100 GiB pd-extreme disk"):
        check_disk_type({**record, "volumeType": "pd-extreme", "sizeGiB": 100})
    with pytest.raises(CloudError, match="Salvage cannot create GCE disk type 'hyperdisk-ml'"):
        check_disk_type({**record, "volumeType": "hyperdisk-ml"})


@pytest.mark.parametrize("form", ["gcePersistentDisk", "csi"])
def test_the_pv_of_a_recreated_disk_keeps_the_original_form_and_its_zone(form: str) -> None:
    record: VolumeRecord = {"pvSource": form, "sizeGiB": 20, "fsType": "xfs", "storageClass": "standard-rwo",
                            "accessModes": ["ReadWriteOnce"]}
    spec = persistent_volume_spec(record, "shop-prod", "us-central1-b", "salvage-new")
    assert spec["capacity"] == {"storage": "20Gi"} and spec["storageClassName"] == "standard-rwo"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-central1-b"]}]
    if form == "csi":
        assert spec["csi"] == {"driver": "pd.csi.storage.gke.io", "fsType": "xfs",
                               "volumeHandle": "projects/shop-prod/zones/us-central1-b/disks/salvage-new"}
    else:
        assert spec["gcePersistentDisk"] == {"pdName": "salvage-new", "fsType": "xfs"}
    assert disk_ref({"metadata": {"name": "new"}, "spec": spec}).disk == "salvage-new", "backed up again as is"


def test_a_regional_disk_is_read_from_either_form() -> None:
    regional = disk_ref(csi_pv("projects/p/regions/us-central1/disks/d"))
    assert (regional.project, regional.region, regional.zone, regional.disk) == ("p", "us-central1", "", "d")
    labelled = in_tree_pv("us-central1-a__us-central1-b")
    assert (disk_ref(labelled).region, disk_ref(labelled).zone) == ("us-central1", "")
