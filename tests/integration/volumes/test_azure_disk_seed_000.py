"""Seed 000 on Azure Disk (our ARM test server + the local cluster's kwok node): a StatefulSet
whose PV is an Azure managed disk (in-tree ``azureDisk`` form, as older AKS clusters have);
back up with an incremental snapshot; delete the StatefulSet, claim, PV and the disk; restore:
a new disk from the snapshot in the same region, zone, SKU and size, under a PV the claim
binds to. The server
follows the published REST reference and is not Azure (docs/test-servers.md); kwok attaches
nothing: this proves the ARM calls, the tags and the Kubernetes binding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from salvage.devcluster.servers.azure_compute import SUBSCRIPTION, ArmState, answer
from salvage.devcluster.servers.json_http import serve_in_thread
from salvage.k8s.client import KubeClient
from salvage.model.cloud_settings import AzureSettings
from salvage.volumes.azure_disk import AzureDiskProvider
from salvage.volumes.azure_disk_spec import disk_id
from tests.integration.engines.conftest import Salvage
from tests.integration.volumes.test_ebs_seed_000 import NODE, ZONE_LABEL, _claim, _delete_pv, _wait_running
from tests.support.builders import statefulset
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

GROUP, REGION, ZONE = "salvage-test", "westeurope", "3"
STORAGE_CLASS = "managed-csi"


@pytest.fixture
def arm(kube: KubeClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ArmState, AzureSettings]]:
    """The test server, named to the CLI by environment; kwok-node-0 labelled with its zone."""
    state = ArmState(polls=2)
    with serve_in_thread(lambda request, base: answer(state, request, base), tls=True, name="arm") as (base, cert):
        settings = AzureSettings(endpoint=base, ca_bundle=str(cert), credentials="test-token")
        monkeypatch.setenv("SALVAGE_AZURE_ENDPOINT", base)
        monkeypatch.setenv("SALVAGE_AZURE_CA_BUNDLE", str(cert))
        monkeypatch.setenv("SALVAGE_AZURE_CREDENTIALS", "test-token")
        kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: f"{REGION}-{ZONE}"}}})
        try:
            yield state, settings
        finally:
            kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: None}}})


def _disks(state: ArmState) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in state.resources.values() if r["type"] == "Microsoft.Compute/disks"}


def _statefulset_on_azure_disk(kube: KubeClient, ns: str, settings: AzureSettings) -> tuple[Any, str, str]:
    """A managed disk, an in-tree azureDisk PV for it and a StatefulSet whose claim binds it, as
    an older AKS cluster leaves them; returns the ARM client, the PV's name and the disk's ID."""
    compute = AzureDiskProvider(settings, poll_interval=0)._client(SUBSCRIPTION)
    compute.disks.begin_create_or_update(GROUP, "pvc-web-0-disk", {
        "location": REGION, "zones": [ZONE], "sku": {"name": "StandardSSD_ZRS"},
        "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8}}, polling_interval=0).result()
    pv_name, original = f"pvc-{ns}-web-0", disk_id(SUBSCRIPTION, GROUP, "pvc-web-0-disk")
    kube.create("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "3Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": STORAGE_CLASS,
                 "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": ns, "name": "www-web-0"},
                 "azureDisk": {"diskName": "pvc-web-0-disk", "diskURI": original, "kind": "Managed",
                               "cachingMode": "ReadOnly", "fsType": "ext4"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": ZONE_LABEL, "operator": "In", "values": [f"{REGION}-{ZONE}"]}]}]}}}})
    kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", _claim("www-web-0", pv_name, STORAGE_CLASS))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets",
                statefulset("web", template="www", size="3Gi", storage_class=STORAGE_CLASS))
    _wait_running(kube, ns)
    return compute, pv_name, original


def test_seed_000_on_azure_disk_deleted_and_restored_from_its_snapshot(
        kube: KubeClient, ns: str, salvage: Salvage, arm: tuple[ArmState, AzureSettings]) -> None:
    state, settings = arm
    pv_name = f"pvc-{ns}-web-0"
    try:
        compute, pv_name, original = _statefulset_on_azure_disk(kube, ns, settings)
        salvage("backup", "create", "az0", "--include-namespaces", ns, "--cluster-name", "aks-prod")  # auto: ARM
        [record] = json.loads(salvage("-o", "json", "backup", "describe", "az0").stdout)["volumes"]
        assert (record["method"], record["diskName"], record["region"], record["availabilityZone"]) == (
            "azure-disk", "pvc-web-0-disk", REGION, ZONE)
        assert (record["volumeType"], record["sizeGiB"], record["pvSource"]) == ("StandardSSD_ZRS", 8, "azureDisk")
        snapshot = state.resources[record["snapshotHandle"].lower()]
        assert snapshot["properties"]["incremental"] and snapshot["properties"]["creationData"]["sourceResourceId"] \
            == original
        assert snapshot["tags"]["salvage-namespace"] == ns and snapshot["tags"]["salvage-cluster"] == "aks-prod"

        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
        kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        kube.delete(f"/api/v1/persistentvolumes/{pv_name}")
        compute.disks.begin_delete(GROUP, "pvc-web-0-disk", polling_interval=0).result()
        for path in (f"/api/v1/namespaces/{ns}/pods/web-0", f"/api/v1/persistentvolumes/{pv_name}"):
            wait_for(lambda p=path: not kube.exists(p), timeout=60, what=f"{path} gone")

        salvage("restore", "create", "az0-back", "--from-backup", "az0")
        [disk] = _disks(state).values()
        assert (disk["location"], disk["zones"], disk["sku"]["name"]) == (REGION, [ZONE], "StandardSSD_ZRS")
        assert disk["properties"]["diskSizeGB"] == 8
        assert disk["properties"]["creationData"]["sourceResourceId"] == snapshot["id"]
        assert disk["tags"]["salvage-pvc"] == "www-web-0" and disk["tags"]["salvage-cluster"] == "aks-prod"
        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        assert claim["status"]["phase"] == "Bound"
        pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        assert pv["spec"]["azureDisk"]["diskURI"] == disk["id"] and pv["spec"]["azureDisk"]["kind"] == "Managed"
        assert pv["spec"]["claimRef"]["name"] == "www-web-0"
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE, "scheduled in the disk's zone"
        salvage("backup", "delete", "az0", "--yes")
        assert not [r for r in state.resources.values() if r["type"] == "Microsoft.Compute/snapshots"
                    and r["properties"]["provisioningState"] != "Deleting"], "deleting the backup deletes its snapshot"
    finally:
        _delete_pv(kube, pv_name)


def test_recover_replaces_the_dangling_claim_once_arm_says_the_disk_is_gone(
        kube: KubeClient, ns: str, salvage: Salvage, arm: tuple[ArmState, AzureSettings]) -> None:
    """Seed 000 exactly: the StatefulSet and the disk deleted, the PV and PVC left pointing at
    nothing; `statefulset recover` replaces the claim without --force only on ARM's word."""
    state, settings = arm
    pv_name = f"pvc-{ns}-web-0"
    try:
        compute, pv_name, original = _statefulset_on_azure_disk(kube, ns, settings)
        salvage("backup", "create", "az1", "--include-namespaces", ns)
        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
        wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/pods/web-0"), timeout=60, what="web-0 gone")
        recover = ("statefulset", "recover", "web", "-n", ns, "--from-backup", "az1")

        def claim_plan(*extra: str) -> tuple[str, str]:
            [step] = json.loads(salvage("-o", "json", *recover, "--dry-run", *extra).stdout)["claims"]
            return step["action"], step["reason"]

        assert claim_plan() == ("keep", f"bound to PV {pv_name}, whose data exists: left alone"), "ARM has the disk"
        compute.disks.begin_delete(GROUP, "pvc-web-0-disk", polling_interval=0).result()
        assert claim_plan() == ("replace", f"dangling: the volume of PV {pv_name} is gone"), "ARM says it is gone"
        wrong = salvage(*recover, "--azure-subscription", "11111111-1111-1111-1111-111111111111", check=False)
        assert wrong.returncode == 1 and f"cannot prove the volume of PV {pv_name} is gone" in wrong.stderr, \
            "a wrong subscription: unknown, never gone"
        assert _disks(state) == {}, "no disk was created"

        salvage(*recover, "--timeout", "90")  # no --force: ARM proved the disk gone
        [disk] = _disks(state).values()
        assert (disk["location"], disk["zones"], disk["properties"]["diskSizeGB"]) == (REGION, [ZONE], 8)
        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/www-web-0")
        assert claim["status"]["phase"] == "Bound"
        pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        assert pv["spec"]["azureDisk"]["diskURI"] == disk["id"] != original, "the PV is the new disk's"
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE
    finally:
        _delete_pv(kube, pv_name)


def test_a_lost_region_is_recovered_from_the_snapshot_copy_in_another(
        kube: KubeClient, ns: str, salvage: Salvage, arm: tuple[ArmState, AzureSettings]) -> None:
    """The backup copies its incremental snapshot to northeurope (CopyStart); westeurope goes
    down (the test server's lostRegions fault); `statefulset recover --restore-region
    northeurope --force` makes the disk there from the copy, in zone 3, where the node now runs."""
    state, settings = arm
    pv_name, dr = f"pvc-{ns}-web-0", "northeurope"
    try:
        _, pv_name, _ = _statefulset_on_azure_disk(kube, ns, settings)
        salvage("backup", "create", "azdr", "--include-namespaces", ns, "--copy-snapshots-to", dr)
        [record] = json.loads(salvage("-o", "json", "backup", "describe", "azdr").stdout)["volumes"]
        [copy] = record["copies"]
        copied = state.resources[copy["snapshotHandle"].lower()]
        assert (copy["region"], copied["location"], copied["properties"]["completionPercent"]) == (dr, dr, 100.0)
        assert copied["properties"]["creationData"]["createOption"] == "CopyStart"
        assert copied["properties"]["creationData"]["sourceResourceId"] == record["snapshotHandle"]

        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
        wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/pods/web-0"), timeout=60, what="web-0 gone")
        state.lost_regions = {REGION}
        kube.patch(f"/api/v1/nodes/{NODE}", {"metadata": {"labels": {ZONE_LABEL: f"{dr}-{ZONE}"}}})
        recover = ("statefulset", "recover", "web", "-n", ns, "--from-backup", "azdr", "--restore-region", dr,
                   "--timeout", "90")
        unproven = salvage(*recover, check=False)
        assert unproven.returncode == 1 and f"cannot prove the volume of PV {pv_name} is gone" in unproven.stderr
        salvage(*recover, "--force")
        [disk] = [d for d in _disks(state).values() if d["location"] == dr]
        assert (disk["zones"], disk["sku"]["name"], disk["properties"]["diskSizeGB"]) == ([ZONE], "StandardSSD_ZRS", 8)
        assert disk["properties"]["creationData"]["sourceResourceId"] == copy["snapshotHandle"]
        pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}")
        assert pv["spec"]["azureDisk"]["diskURI"] == disk["id"]
        assert _wait_running(kube, ns)["spec"]["nodeName"] == NODE, "scheduled in the new region's zone"
        state.lost_regions = set()
        salvage("backup", "delete", "azdr", "--yes")
        assert copied["properties"]["provisioningState"] == "Deleting", "the copy goes with the backup"
    finally:
        _delete_pv(kube, pv_name)
