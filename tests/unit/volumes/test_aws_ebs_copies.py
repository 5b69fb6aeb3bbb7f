"""Cross-region copies of EBS snapshots (backup create --copy-snapshots-to, restore
--restore-region), against moto in-process: the copy is made in the other region, recorded,
restored from into a mapped zone there, and deleted with the backup; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from salvage.model.cloud_settings import AwsSettings, RegionSettings
from salvage.model.errors import CloudError
from salvage.volumes.aws_ebs import EbsProvider
from tests.unit.volumes.test_aws_ebs_bad_input import CLAIM, aws, ebs_pv, quiet, salvage_snapshots

__all__ = ["aws"]
DR = "us-west-2"


def settings(**regions: Any) -> AwsSettings:
    return AwsSettings(regions=RegionSettings(**regions))


def test_a_copy_in_another_region_is_recorded_restored_from_and_deleted(aws: Any) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1b", Size=2, VolumeType="gp3", Encrypted=True,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                   {"Key": "KubernetesCluster", "Value": "prod"}]}])
    backup = EbsProvider(settings(copy_to=(DR,), copy_kms_key="alias/dr-key"), poll_interval=0)
    captured = backup.capture(CLAIM, ebs_pv(volume["VolumeId"], "us-east-1b"), "nightly", timeout=5, progress=quiet)
    [copy] = captured["copies"]
    west = boto3.client("ec2", region_name=DR)
    [snap] = west.describe_snapshots(SnapshotIds=[copy["snapshotHandle"]])["Snapshots"]
    assert copy == {"region": DR, "snapshotHandle": snap["SnapshotId"], "kmsKeyId": "alias/dr-key"}
    tags = {t["Key"]: t["Value"] for t in snap["Tags"]}
    assert tags["salvage.io/copy-of"] == captured["snapshotHandle"] and tags["salvage.io/backup"] == "nightly"
    assert snap["Encrypted"] is True, "a copy of an encrypted snapshot stays encrypted"

    # The lost region: restore from the copy, in the same zone letter of the other region.
    restore = EbsProvider(settings(restore_region=DR), poll_interval=0)
    restore.check_recreate(captured)
    spec = restore.recreate(captured, timeout=5, progress=quiet)
    assert spec["awsElasticBlockStore"]["volumeID"].startswith(f"aws://{DR}b/")
    [new] = west.describe_volumes(VolumeIds=[spec["awsElasticBlockStore"]["volumeID"].rsplit("/", 1)[1]])["Volumes"]
    assert (new["AvailabilityZone"], new["SnapshotId"], new["Size"]) == (f"{DR}b", copy["snapshotHandle"], 2)
    assert new["KmsKeyId"] == "alias/dr-key", "the copy's own key, not the original region's"

    mapped = EbsProvider(settings(restore_region=DR, zone_map=(("us-east-1b", f"{DR}c"),)), poll_interval=0)
    assert mapped.recreate(captured, timeout=5, progress=quiet)["awsElasticBlockStore"]["volumeID"].startswith(
        f"aws://{DR}c/"), "--zone-mappings wins over the zone letter"

    assert backup.delete_captured(captured)
    assert salvage_snapshots(aws) == [] and salvage_snapshots(west) == [], "the copy goes with the backup"


def test_restore_region_without_a_copy_there_is_refused(aws: Any) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1a", Size=1,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                   {"Key": "KubernetesCluster", "Value": "prod"}]}])
    captured = EbsProvider(AwsSettings(), poll_interval=0).capture(
        CLAIM, ebs_pv(volume["VolumeId"]), "nightly", timeout=5, progress=quiet)
    with pytest.raises(CloudError, match=f"no copy of the snapshot of default/log-hello-stateful-0 in {DR}"):
        EbsProvider(settings(restore_region=DR)).check_recreate(captured)
    unmapped = EbsProvider(settings(restore_region="us-east-1", zone_map=(("us-east-1a", "us-east-1z"),)))
    with pytest.raises(CloudError, match="us-east-1z does not exist"):
        unmapped.check_recreate(captured)


def test_an_unknown_copy_region_is_refused_before_any_snapshot(aws: Any) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1a", Size=1)
    provider = EbsProvider(settings(copy_to=("us-nowhere-9",)), poll_interval=0)
    with pytest.raises(CloudError, match="Cannot copy EBS snapshots to us-nowhere-9: not an EC2 region"):
        provider.capture(CLAIM, ebs_pv(volume["VolumeId"]), "nightly", timeout=5, progress=quiet)
    assert salvage_snapshots(aws) == []


def test_a_failed_copy_leaves_no_snapshot_behind(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1a", Size=1)
    provider = EbsProvider(settings(copy_to=(DR, "eu-west-1")), poll_interval=0)
    real = provider._client

    def client(region: str) -> Any:
        made = real(region)
        if region == "eu-west-1":
            def refuse(**_: Any) -> Any:
                raise CloudError("EC2 refused copying: ResourceLimitExceeded: too many concurrent copies")
            monkeypatch.setattr(made, "copy_snapshot", refuse)
        return made

    monkeypatch.setattr(provider, "_client", client)
    with pytest.raises(CloudError, match="ResourceLimitExceeded"):
        provider.capture(CLAIM, ebs_pv(volume["VolumeId"]), "nightly", timeout=5, progress=quiet)
    assert salvage_snapshots(aws) == [], "the original was deleted"
    assert salvage_snapshots(boto3.client("ec2", region_name=DR)) == [], "the first copy was deleted"
