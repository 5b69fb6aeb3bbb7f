"""Seed 000 on EBS (moto's EC2 server + the real local cluster): a StatefulSet whose PV is an
EBS disk; back up with an EBS snapshot; delete the StatefulSet, claim, PV and the disk itself;
restore; a new disk from the snapshot, tagged for the cluster, under a PV the claim binds to.

moto holds no data in volumes and kwok attaches nothing: this proves the EC2 calls, the tags
and the Kubernetes binding, not the bytes (docs/cloud-disks.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from salvage.devcluster.servers import EC2Server
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from tests.integration.engines.conftest import Salvage
from tests.support.builders import statefulset
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

ZONE_LABEL = "topology.kubernetes.io/zone"
NODE = "kwok-node-0"


@pytest.fixture
def zone(kube: KubeClient, aws_env: EC2Server) -> Iterator[str]:
    """A zone other than moto's first, so the test proves the disk's zone is carried; one
    kwok node is labelled with it so zone-pinned pods can schedule."""
    name = f"{aws_env.region}b"
    kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: name}}})
    yield name
    kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: None}}})


@pytest.fixture
def storage_class(kube: KubeClient, ns: str) -> Iterator[str]:
    name = f"gp3-{ns}"
    kube.create("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"})
    yield name
    kube.delete(f"/apis/storage.k8s.io/v1/storageclasses/{name}")


@pytest.mark.parametrize("form", ["awsElasticBlockStore", "csi"])
def test_seed_000_disk_deleted_and_recovered_from_its_ebs_snapshot(
        kube: KubeClient, ns: str, salvage: Salvage, aws_env: EC2Server, ec2: Any, zone: str,
        storage_class: str, form: str) -> None:
    cluster = f"seed000-{ns}.k8s.local"
    original, pv_name = _claim_on_ebs(kube, ec2, ns, zone, storage_class, cluster, form)
    record = _backed_up_statefulset(kube, ns, salvage, aws_env, storage_class, "seed000")
    assert (record["method"], record["volumeId"], record["availabilityZone"]) == ("aws-ebs", original["VolumeId"], zone)
    assert (record["volumeType"], record["sizeGiB"], record["iops"], record["throughput"]) == ("gp3", 3, 4000, 250)
    assert record["encrypted"] is True and record["kmsKeyId"] == original["KmsKeyId"]
    assert record["cluster"] == cluster, "taken from the disk's own KubernetesCluster tag"
    [snapshot] = _snapshots(ec2, "seed000")
    assert {t["Key"]: t["Value"] for t in snapshot["Tags"]}.items() >= {
        "salvage.io/cluster": cluster, "salvage.io/namespace": ns, "salvage.io/pvc": "www-web-0",
        "salvage.io/backup": "seed000"}.items()

    # The disaster: everything deleted, the disk too.
    kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
    kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
    kube.delete(f"/api/v1/persistentvolumes/{pv_name}")
    ec2.delete_volume(VolumeId=original["VolumeId"])
    for path in (f"/api/v1/namespaces/{ns}/pods/web-0", f"/api/v1/persistentvolumes/{pv_name}"):
        wait_for(lambda p=path: not kube.exists(p), timeout=60, what=f"{path} gone")

    try:
        salvage("restore", "create", "seed000-back", "--from-backup", "seed000",
                "--aws-endpoint-url", aws_env.endpoint)
        [volume] = ec2.describe_volumes(Filters=[
            {"Name": "tag:salvage.io/from-snapshot", "Values": [record["snapshotHandle"]]}])["Volumes"]
        assert (volume["AvailabilityZone"], volume["VolumeType"], volume["Size"]) == (zone, "gp3", 3)
        assert (volume["Iops"], volume["Throughput"], volume["Encrypted"]) == (4000, 250, True)
        assert volume["SnapshotId"] == record["snapshotHandle"]
        tags = {t["Key"]: t["Value"] for t in volume["Tags"]}
        assert tags["KubernetesCluster"] == cluster and tags[f"kubernetes.io/cluster/{cluster}"] == "owned"

        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        assert claim["status"]["phase"] == "Bound"
        pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        assert pv["metadata"]["name"] == pv_name, "the PV keeps its name when it is free"
        assert pv["spec"][form] == _source(form, volume["VolumeId"], zone)[form], "the original's driver form"
        assert not ({"awsElasticBlockStore", "csi"} - {form}) & set(pv["spec"])
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
            {"key": ZONE_LABEL, "operator": "In", "values": [zone]}]
        assert pv["spec"]["claimRef"]["name"] == "www-web-0" and pv["status"]["phase"] == "Bound"
        pod = _wait_running(kube, ns)
        assert [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
                if "persistentVolumeClaim" in v] == ["www-web-0"]
        assert pod["spec"]["nodeName"] == NODE, "scheduled in the disk's zone"
        salvage("backup", "delete", "seed000", "--yes", "--aws-endpoint-url", aws_env.endpoint)
        assert _snapshots(ec2, "seed000") == [], "deleting the backup deletes its EBS snapshot"
    finally:
        _delete_pv(kube, pv_name)


def test_recover_replaces_the_dangling_claim_with_a_disk_from_the_ebs_snapshot(
        kube: KubeClient, ns: str, salvage: Salvage, aws_env: EC2Server, ec2: Any, zone: str,
        storage_class: str) -> None:
    """Seed 000 exactly: the StatefulSet and the disk deleted, the PV and PVC left pointing at
    nothing; `statefulset recover` brings it back in one command."""
    cluster = f"recover-{ns}.k8s.local"
    original, pv_name = _claim_on_ebs(kube, ec2, ns, zone, storage_class, cluster, "csi")
    record = _backed_up_statefulset(kube, ns, salvage, aws_env, storage_class, "ebs")
    kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/pods/web-0"), timeout=60, what="web-0 gone")
    recover = ("statefulset", "recover", "web", "-n", ns, "--from-backup", "ebs", "--aws-endpoint-url", aws_env.endpoint)

    def claim_plan(*extra: str) -> tuple[str, str]:
        [step] = json.loads(salvage("-o", "json", *recover, "--dry-run", *extra).stdout)["claims"]
        return step["action"], step["reason"]

    assert claim_plan() == ("keep", f"bound to PV {pv_name}, whose data exists: left alone"), "EC2 lists the disk"
    ec2.delete_volume(VolumeId=original["VolumeId"])
    volumes = len(ec2.describe_volumes()["Volumes"])
    assert claim_plan() == ("replace", f"dangling: the volume of PV {pv_name} is gone"), "EC2 says it is gone"
    unproven = salvage(*recover, "--aws-endpoint-url", "http://127.0.0.1:9", check=False)
    assert unproven.returncode == 1 and f"cannot prove the volume of PV {pv_name} is gone" in unproven.stderr, \
        "EC2 unreachable: unknown, never gone"
    elsewhere = salvage(*recover, "--force", "--aws-region", "us-west-2", check=False)
    assert elsewhere.returncode == 1 and "but the AWS region is us-west-2" in elsewhere.stderr, elsewhere.stderr
    assert len(ec2.describe_volumes()["Volumes"]) == volumes, "no disk was created"
    assert kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")["spec"]["volumeName"] == pv_name

    try:
        salvage(*recover, "--timeout", "90")  # no --force: EC2 proved the disk gone
        [volume] = ec2.describe_volumes(Filters=[
            {"Name": "tag:salvage.io/from-snapshot", "Values": [record["snapshotHandle"]]}])["Volumes"]
        assert (volume["AvailabilityZone"], volume["VolumeType"], volume["Size"]) == (zone, "gp3", 3)
        tags = {t["Key"]: t["Value"] for t in volume["Tags"]}
        assert tags["KubernetesCluster"] == cluster and tags[f"kubernetes.io/cluster/{cluster}"] == "owned"
        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == pv_name
        pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}")
        assert pv["spec"]["csi"]["volumeHandle"] == volume["VolumeId"], "the PV is the new disk's"
        assert pv["spec"]["storageClassName"] == storage_class
        pod = _wait_running(kube, ns)
        assert pod["spec"]["nodeName"] == NODE, "scheduled in the disk's zone"
    finally:
        _delete_pv(kube, pv_name)


def test_a_lost_region_is_recovered_from_the_snapshot_copy_in_another(
        kube: KubeClient, ns: str, salvage: Salvage, aws_env: EC2Server, ec2: Any, zone: str,
        storage_class: str) -> None:
    """Disaster recovery for a lost region: the backup copies its EBS snapshot to us-west-2;
    the disk and the original snapshot are gone; the cluster's node now runs in us-west-2b,
    and `statefulset recover --restore-region us-west-2` re-creates the disk there from the copy."""
    dr, cluster = "us-west-2", f"dr-{ns}.k8s.local"
    west = boto3.client("ec2", endpoint_url=aws_env.endpoint, region_name=dr,
                        aws_access_key_id=aws_env.access_key_id, aws_secret_access_key=aws_env.secret_access_key)
    original, pv_name = _claim_on_ebs(kube, ec2, ns, zone, storage_class, cluster, "csi")
    record = _backed_up_statefulset(kube, ns, salvage, aws_env, storage_class, "dr", "--copy-snapshots-to", dr)
    [copy] = record["copies"]
    [snapshot] = west.describe_snapshots(SnapshotIds=[copy["snapshotHandle"]])["Snapshots"]
    tags = {t["Key"]: t["Value"] for t in snapshot["Tags"]}
    assert (copy["region"], tags["salvage.io/copy-of"], tags["salvage.io/backup"]) == (dr, record["snapshotHandle"], "dr")
    assert snapshot["Encrypted"] is True and snapshot["State"] == "completed"

    # The region is lost: its disk and its snapshot with it; the node comes back in us-west-2b.
    kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/pods/web-0"), timeout=60, what="web-0 gone")
    ec2.delete_volume(VolumeId=original["VolumeId"])
    ec2.delete_snapshot(SnapshotId=record["snapshotHandle"])
    kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: f"{dr}b"}}})
    recover = ("statefulset", "recover", "web", "-n", ns, "--from-backup", "dr", "--aws-endpoint-url", aws_env.endpoint,
               "--timeout", "90")
    nowhere = salvage(*recover, "--restore-region", "eu-west-1", check=False)
    assert nowhere.returncode == 1 and "no copy of the snapshot" in nowhere.stderr and "copies: us-west-2" in nowhere.stderr
    try:
        salvage(*recover, "--restore-region", dr)
        [volume] = west.describe_volumes(Filters=[
            {"Name": "tag:salvage.io/from-snapshot", "Values": [copy["snapshotHandle"]]}])["Volumes"]
        assert (volume["AvailabilityZone"], volume["VolumeType"], volume["Size"]) == (f"{dr}b", "gp3", 3)
        assert volume["Encrypted"] is True
        assert {t["Key"]: t["Value"] for t in volume["Tags"]}["KubernetesCluster"] == cluster
        pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}")
        assert pv["spec"]["csi"]["volumeHandle"] == volume["VolumeId"]
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [
            f"{dr}b"]
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE
        salvage("backup", "delete", "dr", "--yes", "--aws-endpoint-url", aws_env.endpoint)
        assert west.describe_snapshots(Filters=[{"Name": "tag:salvage.io/backup", "Values": ["dr"]}])["Snapshots"] == [], \
            "deleting the backup deletes the copy in the other region"
    finally:
        _delete_pv(kube, pv_name)


def test_bad_input_is_refused_and_changes_nothing(
        kube: KubeClient, ns: str, salvage: Salvage, aws_env: EC2Server, ec2: Any, zone: str,
        storage_class: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _, pv_name = _claim_on_ebs(kube, ec2, ns, zone, storage_class, f"bad-{ns}")
    backup = ("backup", "create", "--include-namespaces", ns, "--volume-snapshot-provider", "aws-ebs",
              "--aws-endpoint-url", aws_env.endpoint)
    with monkeypatch.context() as no_credentials:
        no_credentials.delenv("AWS_ACCESS_KEY_ID")
        no_credentials.delenv("AWS_SECRET_ACCESS_KEY")
        refused = salvage(*backup, "anonymous", check=False)
    assert refused.returncode == 1 and "No AWS credentials were found" in refused.stderr
    assert json.loads(salvage("-o", "json", "backup", "get").stdout) == [], "nothing was written"

    mismatch = salvage(*backup, "elsewhere", "--aws-region", "eu-west-1", check=False)
    assert mismatch.returncode == 1
    assert f"zone {zone} (region us-east-1), but the AWS region is eu-west-1" in mismatch.stderr
    assert _snapshots(ec2, "elsewhere") == []

    salvage(*backup, "good")
    kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
    kube.delete(f"/api/v1/persistentvolumes/{pv_name}")
    wait_for(lambda: not kube.exists(f"/api/v1/persistentvolumes/{pv_name}"), timeout=60, what="PV gone")
    volumes = len(ec2.describe_volumes()["Volumes"])
    restore = ("restore", "create", "--from-backup", "good", "--aws-endpoint-url", aws_env.endpoint)
    for flags, message in ((("--availability-zone", "us-east-1z"), "Availability zone us-east-1z does not exist"),
                           (("--availability-zone", "eu-west-1a"), "is in us-east-1, not in eu-west-1"),
                           (("--aws-region", "us-west-2"), "but the AWS region is us-west-2")):
        failed = salvage(*restore, *flags, check=False)
        assert failed.returncode == 1 and message in failed.stderr, failed.stderr
    assert len(ec2.describe_volumes()["Volumes"]) == volumes, "no disk was created"
    assert not kube.exists(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
    assert not kube.exists(f"/api/v1/persistentvolumes/{pv_name}")
    assert json.loads(salvage("-o", "json", "restore", "get").stdout) == []


def _claim_on_ebs(kube: KubeClient, ec2: Any, ns: str, zone: str, storage_class: str,
                  cluster: str, form: str = "awsElasticBlockStore") -> tuple[dict[str, Any], str]:
    """An EBS disk tagged for ``cluster``, a PV for it and a claim bound to the PV, as the
    cluster's EBS provisioner leaves them."""
    volume = ec2.create_volume(
        AvailabilityZone=zone, Size=3, VolumeType="gp3", Iops=4000, Throughput=250, Encrypted=True,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "KubernetesCluster", "Value": cluster}]}])
    pv_name = f"pvc-{ns}-web-0"
    kube.create("/api/v1/persistentvolumes", _ebs_pv(pv_name, _source(form, volume["VolumeId"], zone), zone,
                                                     ns, storage_class))
    kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", _claim("www-web-0", pv_name, storage_class))
    claim = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0"
    wait_for(lambda: kube.get(claim).get("status", {}).get("phase") == "Bound", timeout=60, what="claim Bound")
    return volume, pv_name


def _backed_up_statefulset(kube: KubeClient, ns: str, salvage: Salvage, aws_env: EC2Server, storage_class: str,
                           backup: str, *extra: str) -> dict[str, Any]:
    """StatefulSet web on the claim of ``_claim_on_ebs``, backed up through EC2; its volume record."""
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets",
                statefulset("web", template="www", size="3Gi", storage_class=storage_class))
    _wait_running(kube, ns)
    salvage("backup", "create", backup, "--include-namespaces", ns, "--volume-snapshot-provider", "aws-ebs",
            "--aws-endpoint-url", aws_env.endpoint, "--aws-region", aws_env.region, *extra)
    [record] = json.loads(salvage("-o", "json", "backup", "describe", backup).stdout)["volumes"]
    return dict(record)


def _snapshots(ec2: Any, backup: str) -> list[Any]:
    found = ec2.describe_snapshots(Filters=[{"Name": "tag:salvage.io/backup", "Values": [backup]}])
    return list(found["Snapshots"])


def _wait_running(kube: KubeClient, ns: str) -> dict[str, Any]:
    path = f"/api/v1/namespaces/{ns}/pods/web-0"
    wait_for(lambda: kube.exists(path) and kube.get(path).get("status", {}).get("phase") == "Running",
             timeout=90, what="web-0 Running")
    return kube.get(path)


def _source(form: str, volume_id: str, zone: str) -> dict[str, Any]:
    """How a PV names an EBS disk: the in-tree plugin's form or the EBS CSI driver's."""
    if form == "csi":
        return {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": volume_id, "fsType": "ext4"}}
    return {"awsElasticBlockStore": {"volumeID": f"aws://{zone}/{volume_id}", "fsType": "ext4"}}


def _ebs_pv(name: str, source: dict[str, Any], zone: str, ns: str, storage_class: str) -> dict[str, Any]:
    """A PV as the cluster's EBS provisioner would have made it (zone-pinned)."""
    return {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": {ZONE_LABEL: zone}},
        "spec": {
            "capacity": {"storage": "3Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": "Retain",
            **source,
            "claimRef": {"namespace": ns, "name": "www-web-0"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}]}},
        },
    }


def _claim(name: str, volume: str, storage_class: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class, "volumeName": volume,
                     "resources": {"requests": {"storage": "3Gi"}}}}


def _delete_pv(kube: KubeClient, name: str) -> None:
    try:
        kube.delete(f"/api/v1/persistentvolumes/{name}")
    except KubernetesError as exc:
        if exc.status != 404:
            raise
