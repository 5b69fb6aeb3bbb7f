"""Regional PDs (replicated in two zones of a region, ``replicaZones``) against our compute
test server: captured through regionDisks, re-created as a regional disk in the same two
zones (or, from a copy, in the mapped zones of the restore region), under a PV either zone
can attach; presence asks regionDisks."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.devcluster.servers.gce_compute import ComputeState
from salvage.model.cloud_settings import RegionSettings
from salvage.model.errors import CloudError
from salvage.volumes.presence import Presence, volume_presence
from tests.unit.volumes.test_gce_pd import CLAIM, PROJECT, gce, provider, quiet

__all__ = ["gce"]
REGION, ZONES = "us-central1", ["us-central1-b", "us-central1-c"]


def regional_disk(state: ComputeState, *, kind: str = "pd-balanced", size: int = 20) -> None:
    with state.lock:
        state.insert_region_disk(PROJECT, REGION, {
            "name": "pd-www-0", "sizeGb": str(size), "type": f"regions/{REGION}/diskTypes/{kind}",
            "replicaZones": [f"zones/{z}" for z in ZONES], "labels": {"goog-k8s-cluster-name": "gke"}})
        state.region_disks[(PROJECT, REGION, "pd-www-0")]["status"] = "READY"


def regional_pv() -> dict[str, Any]:
    return {"metadata": {"name": "pv-www-0"}, "spec": {"accessModes": ["ReadWriteOnce"], "csi": {
        "driver": "pd.csi.storage.gke.io", "volumeHandle": f"projects/{PROJECT}/regions/{REGION}/disks/pd-www-0"}}}


def new_regional_disks(state: ComputeState) -> list[dict[str, Any]]:
    return [d for (_p, _r, name), d in state.region_disks.items() if name != "pd-www-0"]


def test_a_regional_disk_comes_back_regional_in_its_two_zones(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    regional_disk(state)
    gcp = provider(endpoint)
    assert volume_presence(regional_pv(), gce=gcp.settings) is Presence.PRESENT
    record = gcp.capture(CLAIM, regional_pv(), "nightly", timeout=5, progress=quiet)
    assert (record["replicaZones"], record["availabilityZone"], record["volumeType"]) == (ZONES, ZONES[0], "pd-balanced")
    [snapshot] = state.snapshots.values()
    assert snapshot["sourceDisk"].endswith(f"/regions/{REGION}/disks/pd-www-0") and snapshot["status"] == "READY"

    spec = gcp.recreate(record, timeout=5, progress=quiet)
    [new] = new_regional_disks(state)
    assert [z.rsplit("/", 1)[-1] for z in new["replicaZones"]] == ZONES and new["status"] == "READY"
    assert new["type"].endswith(f"/regions/{REGION}/diskTypes/pd-balanced") and new["sizeGb"] == "20"
    assert spec["csi"]["volumeHandle"] == f"projects/{PROJECT}/regions/{REGION}/disks/{new['name']}"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ZONES}], "either zone attaches it"

    with state.lock:
        del state.region_disks[(PROJECT, REGION, "pd-www-0")]
    assert volume_presence(regional_pv(), gce=gcp.settings) is Presence.GONE, "regionDisks says 404, the region exists"


def test_a_regional_disk_restored_from_its_copy_in_another_region(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    regional_disk(state)
    record = provider(endpoint, regions=RegionSettings(copy_to=("us-east1",))).capture(
        CLAIM, regional_pv(), "nightly", timeout=5, progress=quiet)
    state.lost_regions = {REGION}
    provider(endpoint, regions=RegionSettings(restore_region="us-east1")).recreate(record, timeout=5, progress=quiet)
    [new] = new_regional_disks(state)
    assert [z.rsplit("/", 1)[-1] for z in new["replicaZones"]] == ["us-east1-b", "us-east1-c"]
    assert new["sourceSnapshot"].endswith(record["copies"][0]["snapshotHandle"])


@pytest.mark.parametrize(("kind", "size", "regions", "message"), [
    ("pd-standard", 100, RegionSettings(), "cannot create a 100 GiB pd-standard"),
    ("pd-balanced", 20, RegionSettings(zone_map=(("us-central1-c", "us-east1-c"),)), "more than one region"),
])
def test_a_regional_disk_gce_would_refuse_is_refused_first(gce: tuple[str, ComputeState], kind: str, size: int,
                                                          regions: RegionSettings, message: str) -> None:
    endpoint, state = gce
    regional_disk(state, kind=kind, size=max(size, 200) if kind == "pd-standard" else size)
    record = provider(endpoint).capture(CLAIM, regional_pv(), "nightly", timeout=5, progress=quiet)
    record["sizeGiB"] = size
    with pytest.raises(CloudError, match=message):
        provider(endpoint, regions=regions).check_recreate(record)
    assert new_regional_disks(state) == []
