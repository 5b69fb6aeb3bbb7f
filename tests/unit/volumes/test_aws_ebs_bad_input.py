"""Bad input for EBS: each a clear CloudError and nothing created in EC2.

EC2 is moto in-process (``mock_aws``: no network, no server) or, for a snapshot that fails,
botocore's Stubber — moto completes every snapshot at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber
from moto import mock_aws

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.cloud_settings import AwsSettings
from salvage.model.errors import CloudCredentialsError, CloudError
from salvage.volumes.aws_ebs import EbsProvider
from salvage.model.progress import quiet

REGION = "us-east-1"
CLAIM = {"metadata": {"namespace": "default", "name": "log-hello-stateful-0"},
         "spec": {"storageClassName": "gp2", "resources": {"requests": {"storage": "1Gi"}}}}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Credentials only from the environment, then an in-process EC2 (moto)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def ebs_pv(volume_id: str, zone: str = "us-east-1a") -> dict[str, Any]:
    return {"metadata": {"name": "pv-1"}, "spec": {"awsElasticBlockStore": {"volumeID": f"aws://{zone}/{volume_id}"}}}


def record(**fields: Any) -> VolumeRecord:
    base: VolumeRecord = {
        "namespace": "default", "pvc": "log-hello-stateful-0", "pv": "pv-1", "method": "aws-ebs",
        "snapshotHandle": "snap-0cb9ddd144d8c047b", "region": REGION, "availabilityZone": "us-east-1a",
        "volumeType": "gp2", "sizeGiB": 1, "cluster": "joatmon08.k8s.local", "pvSource": "awsElasticBlockStore"}
    base.update(fields)  # type: ignore[typeddict-item]
    return base


def salvage_snapshots(ec2: Any) -> list[Any]:
    found = ec2.describe_snapshots(Filters=[{"Name": "tag-key", "Values": ["salvage.io/backup"]}])
    return list(found["Snapshots"])


def test_capture_and_recreate_round_trip(aws: Any) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1c", Size=4, VolumeType="io1", Iops=300,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                   {"Key": "kubernetes.io/cluster/prod", "Value": "owned"}]}])
    provider = EbsProvider(AwsSettings(), poll_interval=0)
    events: list[str] = []
    captured = provider.capture(CLAIM, ebs_pv(volume["VolumeId"], "us-east-1c"), "nightly", timeout=5,
                                progress=lambda e: events.append(e.state))
    assert captured["region"] == REGION, "the region comes from the PV's zone when none is configured"
    assert (captured["volumeType"], captured["iops"], captured["cluster"]) == ("io1", 300, "prod")
    assert any("100%" in e for e in events), "snapshot progress is reported"
    spec = provider.recreate(captured, timeout=5, progress=quiet)
    new_id = spec["awsElasticBlockStore"]["volumeID"].rsplit("/", 1)[1]
    [new] = aws.describe_volumes(VolumeIds=[new_id])["Volumes"]
    assert (new["AvailabilityZone"], new["VolumeType"], new["Iops"], new["Size"]) == ("us-east-1c", "io1", 300, 4)
    assert {"Key": "KubernetesCluster", "Value": "prod"} in new["Tags"]
    assert [s["SnapshotId"] for s in salvage_snapshots(aws)] == [captured["snapshotHandle"]]
    assert provider.delete_captured(captured) and salvage_snapshots(aws) == []
    assert not provider.delete_captured(captured), "already gone"


def test_region_mismatch_between_the_pv_zone_and_the_configured_region(aws: Any) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1a", Size=1)
    provider = EbsProvider(AwsSettings(region="eu-west-1"))
    with pytest.raises(CloudError, match=r"zone us-east-1a \(region us-east-1\), but the AWS region is eu-west-1"):
        provider.capture(CLAIM, ebs_pv(volume["VolumeId"]), "nightly", timeout=5, progress=quiet)
    assert salvage_snapshots(aws) == []


def test_region_mismatch_on_restore(aws: Any) -> None:
    with pytest.raises(CloudError, match="not in eu-west-1"):
        EbsProvider(AwsSettings(availability_zone="eu-west-1a")).check_recreate(record())
    with pytest.raises(CloudError, match="us-east-1a.*eu-west-1"):
        EbsProvider(AwsSettings(region="eu-west-1")).check_recreate(record())


def test_availability_zone_that_does_not_exist(aws: Any) -> None:
    provider = EbsProvider(AwsSettings(availability_zone="us-east-1z"))
    with pytest.raises(CloudError, match="Availability zone us-east-1z does not exist in us-east-1"):
        provider.recreate(record(), timeout=5, progress=quiet)
    assert aws.describe_volumes()["Volumes"] == []


def test_volume_type_the_target_cannot_create(aws: Any) -> None:
    with pytest.raises(CloudError, match="cannot create a 1 GiB sc1 volume"):
        EbsProvider(AwsSettings()).recreate(record(volumeType="sc1"), timeout=5, progress=quiet)
    assert aws.describe_volumes()["Volumes"] == []


def test_no_cluster_name_means_no_volume(aws: Any) -> None:
    with pytest.raises(CloudError, match="--cluster-name"):
        EbsProvider(AwsSettings()).recreate(record(cluster=""), timeout=5, progress=quiet)
    assert aws.describe_volumes()["Volumes"] == []


def test_snapshot_that_is_gone_or_failed_means_no_volume(aws: Any) -> None:
    with pytest.raises(CloudError, match="EBS snapshot snap-0cb9ddd144d8c047b of .* does not exist"):
        EbsProvider(AwsSettings()).recreate(record(), timeout=5, progress=quiet)
    assert aws.describe_volumes()["Volumes"] == []
    ec2 = boto3.client("ec2", region_name=REGION)
    with Stubber(ec2) as stub:
        stub.add_response("describe_availability_zones", {"AvailabilityZones": [{"ZoneName": "us-east-1a"}]})
        stub.add_response("describe_snapshots", {"Snapshots": [
            {"SnapshotId": "snap-0cb9ddd144d8c047b", "State": "error", "StateMessage": "copy failed"}]})
        with pytest.raises(CloudError, match="is error, not completed: copy failed"):
            EbsProvider(AwsSettings(), clients={REGION: ec2}).check_recreate(record())


def test_missing_credentials(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = aws.create_volume(AvailabilityZone="us-east-1a", Size=1)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    provider = EbsProvider(AwsSettings())
    with pytest.raises(CloudCredentialsError, match="No AWS credentials") as caught:
        provider.capture(CLAIM, ebs_pv(volume["VolumeId"]), "nightly", timeout=5, progress=quiet)
    assert isinstance(caught.value.__cause__, NoCredentialsError), "translated at the boundary, raised from"
    with pytest.raises(CloudCredentialsError):
        provider.check_access()
    with pytest.raises(CloudCredentialsError):
        provider.check_recreate(record())


def test_snapshot_in_error_state_is_reported_and_removed() -> None:
    ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    volume_id, snapshot_id = "vol-0123456789abcdef0", "snap-0123456789abcdef0"
    with Stubber(ec2) as stub:
        stub.add_response("describe_volumes", {"Volumes": [
            {"VolumeId": volume_id, "Size": 1, "AvailabilityZone": "us-east-1a", "VolumeType": "gp2", "Tags": []}]})
        stub.add_response("create_snapshot", {"SnapshotId": snapshot_id, "VolumeId": volume_id, "State": "pending"})
        stub.add_response("describe_snapshots", {"Snapshots": [
            {"SnapshotId": snapshot_id, "State": "error", "StateMessage": "internal error", "Progress": "12%"}]})
        stub.add_response("delete_snapshot", {}, {"SnapshotId": snapshot_id})
        provider = EbsProvider(AwsSettings(region=REGION), clients={REGION: ec2}, poll_interval=0)
        with pytest.raises(CloudError, match=f"EBS snapshot {snapshot_id} of default/log-hello-stateful-0 failed: "
                                             "internal error; it was deleted"):
            provider.capture(CLAIM, ebs_pv(volume_id), "nightly", timeout=5, progress=quiet)
        stub.assert_no_pending_responses()


def test_ec2_refusals_are_translated(aws: Any) -> None:
    with pytest.raises(CloudError, match="EC2 refused reading EBS volume vol-0123456789abcdef0 .*InvalidVolume.NotFound"):
        EbsProvider(AwsSettings()).capture(CLAIM, ebs_pv("vol-0123456789abcdef0"), "nightly", timeout=5, progress=quiet)
