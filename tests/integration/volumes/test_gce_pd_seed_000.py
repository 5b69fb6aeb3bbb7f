"""Seed 000 on GCE PD (our compute test server + the local cluster's kwok node): a StatefulSet
whose PV is a GCE disk (CSI form); back up with a GCE snapshot; delete the StatefulSet, claim,
PV and the disk; restore; a new disk from the snapshot in the same zone, under a PV the claim
binds to. The server follows the published API and is not GCE (docs/test-servers.md); kwok
attaches nothing: this proves the compute calls, the labels and the Kubernetes binding."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from salvage.devcluster.servers.gce_compute import ComputeState, serve_in_thread
from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import Salvage
from tests.integration.volumes.test_ebs_seed_000 import NODE, ZONE_LABEL, _claim, _delete_pv, _wait_running
from tests.support.builders import statefulset
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

PROJECT, ZONE = "salvage-test", "us-central1-b"


@pytest.fixture
def gce(kube: KubeClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[ComputeState]:
    """The test server, named to the CLI by environment; kwok-node-0 labelled with its zone."""
    with serve_in_thread() as (endpoint, state):
        monkeypatch.setenv("SALVAGE_GCE_ENDPOINT", endpoint)
        monkeypatch.setenv("SALVAGE_GCE_CREDENTIALS", "anonymous")
        kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: ZONE}}})
        try:
            yield state
        finally:
            kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: None}}})


def _statefulset_on_a_gce_disk(kube: KubeClient, ns: str, gce: ComputeState) -> str:
    """A GCE disk, its PV (CSI form) and claim, and StatefulSet web running on it; the PV's name."""
    with gce.lock:
        gce.insert_disk(PROJECT, ZONE, {"name": "pd-web-0", "sizeGb": "10", "labels": {"goog-k8s-cluster-name": "gke"},
                                        "type": f"zones/{ZONE}/diskTypes/pd-balanced"})
        gce.disks[(PROJECT, ZONE, "pd-web-0")]["status"] = "READY"
    pv_name, storage_class = f"pvc-{ns}-web-0", "standard-rwo"
    kube.create("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "3Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                 "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": ns, "name": "www-web-0"},
                 "csi": {"driver": "pd.csi.storage.gke.io", "fsType": "ext4",
                         "volumeHandle": f"projects/{PROJECT}/zones/{ZONE}/disks/pd-web-0"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [ZONE]}]}]}}}})
    kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", _claim("www-web-0", pv_name, storage_class))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets",
                statefulset("web", template="www", size="3Gi", storage_class=storage_class))
    _wait_running(kube, ns)
    return pv_name


def test_seed_000_on_gce_disk_deleted_and_restored_from_its_snapshot(
        kube: KubeClient, ns: str, salvage: Salvage, gce: ComputeState) -> None:
    pv_name = f"pvc-{ns}-web-0"
    try:
        _statefulset_on_a_gce_disk(kube, ns, gce)
        salvage("backup", "create", "gce0", "--include-namespaces", ns)  # auto: the GCE disk through GCE
        [record] = json.loads(salvage("-o", "json", "backup", "describe", "gce0").stdout)["volumes"]
        assert (record["method"], record["diskName"], record["availabilityZone"]) == ("gce-pd", "pd-web-0", ZONE)
        assert (record["volumeType"], record["sizeGiB"], record["cluster"]) == ("pd-balanced", 10, "gke")
        snapshot = gce.snapshots[(PROJECT, record["snapshotHandle"])]
        assert snapshot["labels"]["salvage-namespace"] == ns and snapshot["labels"]["salvage-backup"] == "gce0"

        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
        kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        kube.delete(f"/api/v1/persistentvolumes/{pv_name}")
        with gce.lock:
            del gce.disks[(PROJECT, ZONE, "pd-web-0")]
        for path in (f"/api/v1/namespaces/{ns}/pods/web-0", f"/api/v1/persistentvolumes/{pv_name}"):
            wait_for(lambda p=path: not kube.exists(p), timeout=60, what=f"{path} gone")

        salvage("restore", "create", "gce0-back", "--from-backup", "gce0")
        [(key, disk)] = list(gce.disks.items())
        assert key[:2] == (PROJECT, ZONE) and disk["type"].endswith("/diskTypes/pd-balanced")
        assert (disk["sizeGb"], disk["sourceSnapshot"]) == ("10", snapshot["selfLink"])
        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        assert claim["status"]["phase"] == "Bound"
        pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        assert pv["spec"]["csi"]["volumeHandle"] == f"projects/{PROJECT}/zones/{ZONE}/disks/{disk['name']}"
        assert pv["spec"]["claimRef"]["name"] == "www-web-0"
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE, "scheduled in the disk's zone"
        salvage("backup", "delete", "gce0", "--yes")
        assert gce.snapshots == {}, "deleting the backup deletes its GCE snapshot"
    finally:
        _delete_pv(kube, pv_name)


def test_a_lost_region_is_recovered_from_the_snapshot_stored_in_another(
        kube: KubeClient, ns: str, salvage: Salvage, gce: ComputeState) -> None:
    """The backup keeps a snapshot of the disk in us-east1 too; us-central1 goes down (the test
    server's lostRegions fault); `statefulset recover --restore-region us-east1 --force` puts the
    disk into us-east1-b from that snapshot, where the node now runs."""
    pv_name = f"pvc-{ns}-web-0"
    try:
        _statefulset_on_a_gce_disk(kube, ns, gce)
        salvage("backup", "create", "gcedr", "--include-namespaces", ns, "--copy-snapshots-to", "us-east1")
        [record] = json.loads(salvage("-o", "json", "backup", "describe", "gcedr").stdout)["volumes"]
        [copy] = record["copies"]
        stored = gce.snapshots[(PROJECT, copy["snapshotHandle"])]
        assert copy["region"] == "us-east1" and stored["storageLocations"] == ["us-east1"]
        assert stored["labels"]["salvage-copy-of"] == record["snapshotHandle"]

        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
        wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/pods/web-0"), timeout=60, what="web-0 gone")
        with gce.lock:
            gce.lost_regions = {"us-central1"}
        kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: "us-east1-b"}}})
        recover = ("statefulset", "recover", "web", "-n", ns, "--from-backup", "gcedr", "--restore-region", "us-east1",
                   "--timeout", "90")
        unproven = salvage(*recover, check=False)
        assert unproven.returncode == 1 and f"cannot prove the volume of PV {pv_name} is gone" in unproven.stderr, \
            "a region that is down cannot say the disk is gone"
        assert [z for (_p, z, _n) in gce.disks] == [ZONE], "nothing was created"
        salvage(*recover, "--force")
        [(key, disk)] = [(k, d) for k, d in gce.disks.items() if k[1] != ZONE]
        assert key[:2] == (PROJECT, "us-east1-b") and disk["sourceSnapshot"] == stored["selfLink"]
        assert disk["type"].endswith("/zones/us-east1-b/diskTypes/pd-balanced") and disk["sizeGb"] == "10"
        pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}")
        assert pv["spec"]["csi"]["volumeHandle"] == f"projects/{PROJECT}/zones/us-east1-b/disks/{disk['name']}"
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE, "scheduled in the new region's zone"
        salvage("backup", "delete", "gcedr", "--yes")
        assert gce.snapshots == {}, "the original and the copy go with the backup"
    finally:
        _delete_pv(kube, pv_name)
