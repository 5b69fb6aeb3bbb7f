"""Reading EBS facts from PVs and writing PVs for re-created disks (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import CloudError, UsageError
from salvage.volumes.aws_ebs_spec import (
    EbsVolumeRef,
    check_volume_type,
    persistent_volume_spec,
    region_of,
    volume_ref,
)
from salvage.volumes.cloud_disks import pre_bound_volume
from salvage.volumes.registry import check_choice, method_for

VOL = "vol-0e65bfd7da63a06b3"


def in_tree(volume_id: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "pv-1"}, "spec": {"awsElasticBlockStore": {"volumeID": volume_id, "fsType": "ext4"},
                                                   **spec}}


def csi(handle: str, driver: str = "ebs.csi.aws.com", zone_key: str = "topology.ebs.csi.aws.com/zone") -> dict[str, Any]:
    affinity = {"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": zone_key, "operator": "In", "values": ["eu-west-1c"]}]}]}}
    return {"metadata": {"name": "pv-2"},
            "spec": {"csi": {"driver": driver, "volumeHandle": handle}, "nodeAffinity": affinity}}


@pytest.mark.parametrize(("pv", "expected"), [
    (in_tree(f"aws://us-east-1a/{VOL}"), EbsVolumeRef(VOL, "us-east-1a", "awsElasticBlockStore", "ext4")),
    (in_tree(VOL), EbsVolumeRef(VOL, None, "awsElasticBlockStore", "ext4")),
    (in_tree(f"aws:///{VOL}"), EbsVolumeRef(VOL, None, "awsElasticBlockStore", "ext4")),
    (csi(VOL), EbsVolumeRef(VOL, "eu-west-1c", "csi", None)),
    (csi(VOL, zone_key="topology.kubernetes.io/zone"), EbsVolumeRef(VOL, "eu-west-1c", "csi", None)),
])
def test_volume_id_forms(pv: dict[str, Any], expected: EbsVolumeRef) -> None:
    assert volume_ref(pv) == expected


def test_the_zone_comes_from_labels_when_the_id_has_none() -> None:
    pv = in_tree(VOL)
    pv["metadata"]["labels"] = {"failure-domain.beta.kubernetes.io/zone": "us-west-2b"}
    assert volume_ref(pv).zone == "us-west-2b"


@pytest.mark.parametrize("pv", [in_tree("aws://us-east-1a/"), in_tree("snap-123"), csi("vol-xyz"),
                                csi(VOL, driver="hostpath.salvage.io")])
def test_what_is_not_an_ebs_volume_is_refused_by_name(pv: dict[str, Any]) -> None:
    with pytest.raises(CloudError, match=pv["metadata"]["name"]):
        volume_ref(pv)


@pytest.mark.parametrize(("zone", "region"), [
    ("us-east-1a", "us-east-1"), ("eu-central-1c", "eu-central-1"), ("us-gov-west-1b", "us-gov-west-1"),
    ("ap-southeast-2a", "ap-southeast-2"), ("us-west-2-lax-1a", "us-west-2"), ("us-east-1-wl1-bos-wlz-1", "us-east-1"),
])
def test_zone_to_region(zone: str, region: str) -> None:
    assert region_of(zone) == region


@pytest.mark.parametrize("zone", ["us-east-1", "useast1a", "", "US-EAST-1A"])
def test_what_is_not_a_zone_is_refused(zone: str) -> None:
    with pytest.raises(CloudError, match="not an AWS availability zone"):
        region_of(zone)


def record(**fields: Any) -> VolumeRecord:
    base: VolumeRecord = {"namespace": "default", "pvc": "log-hello-stateful-0", "pv": "pv-1", "method": "aws-ebs",
                          "volumeType": "gp2", "sizeGiB": 1, "storageClass": "gp2"}
    base.update(fields)  # type: ignore[typeddict-item]
    return base


@pytest.mark.parametrize(("fields", "message"), [
    ({"volumeType": "gp9"}, "cannot create volume type 'gp9'"),
    ({"volumeType": "st1", "sizeGiB": 3}, "3 GiB st1"),
    ({"volumeType": "io2", "sizeGiB": 10}, "without provisioned IOPS"),
    ({"volumeType": "standard", "sizeGiB": 2048}, "2048 GiB standard"),
])
def test_volume_types_ebs_would_refuse(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(CloudError, match=message):
        check_volume_type(record(**fields))


def test_volume_types_ebs_accepts() -> None:
    for fields in ({}, {"volumeType": "io1", "sizeGiB": 4, "iops": 200}, {"volumeType": "sc1", "sizeGiB": 125}):
        check_volume_type(record(**fields))


def test_pv_keeps_the_in_tree_form_and_pins_the_zone() -> None:
    spec = persistent_volume_spec(record(pvSource="awsElasticBlockStore", fsType="xfs", reclaimPolicy="Retain"),
                                  "vol-0123456789abcdef0", "us-west-2a")
    assert spec["awsElasticBlockStore"] == {"volumeID": "aws://us-west-2a/vol-0123456789abcdef0", "fsType": "xfs"}
    assert "csi" not in spec
    assert spec["capacity"] == {"storage": "1Gi"} and spec["persistentVolumeReclaimPolicy"] == "Retain"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-west-2a"]}]}]
    assert "claimRef" not in spec, "the caller binds it"


def test_pv_keeps_the_csi_form() -> None:
    spec = persistent_volume_spec(record(pvSource="csi"), "vol-0123456789abcdef0", "us-west-2a")
    assert spec["csi"] == {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0123456789abcdef0"}
    assert "awsElasticBlockStore" not in spec


def test_auto_picks_ebs_for_ebs_disks_and_csi_otherwise() -> None:
    assert method_for(in_tree(VOL), "auto") == "aws-ebs"
    assert method_for(csi(VOL), "auto") == "aws-ebs"
    assert method_for(csi("x", driver="hostpath.salvage.io"), "auto") == "csi-snapshot"
    assert method_for(in_tree(VOL), "csi") == "csi-snapshot"
    assert method_for(csi("x", driver="hostpath.salvage.io"), "aws-ebs") == "aws-ebs", "the provider says why not"
    check_choice("gce-pd")
    check_choice("azure-disk")
    with pytest.raises(UsageError, match="'cinder' is not one of"):
        check_choice("cinder")


def test_the_pv_is_bound_in_advance_to_its_claim() -> None:
    spec = persistent_volume_spec(record(), "vol-0123456789abcdef0", "us-west-2a")
    pv = pre_bound_volume("pv-new", spec, "default", "log-hello-stateful-0", {"restore.salvage.io/name": "r1"})
    assert pv["metadata"] == {"name": "pv-new", "labels": {"restore.salvage.io/name": "r1"}}
    assert pv["spec"]["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "default",
                                      "name": "log-hello-stateful-0"}
    assert "claimRef" not in spec, "the provider's spec is not changed"
