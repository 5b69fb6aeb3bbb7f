"""Cross-region copies of GCE PD snapshots against our compute test server: a second snapshot of
the disk stored in the other region (storageLocations), recorded, restored from into a zone of
that region while the original region is down, and deleted with the backup."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.devcluster.servers.gce_compute import ComputeState
from salvage.model.cloud_settings import RegionSettings
from salvage.model.errors import CloudError
from salvage.volumes.presence import Presence, volume_presence
from tests.unit.volumes.test_gce_pd import CLAIM, KMS, PROJECT, ZONE, gce, make_disk, provider, pv, quiet

__all__ = ["gce"]
DR, DR_KMS = "us-east1", "projects/salvage-test/locations/us-east1/keyRings/r/cryptoKeys/dr"


def test_a_copy_in_another_region_survives_its_loss(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    backup = provider(endpoint, regions=RegionSettings(copy_to=(DR,), copy_kms_key=DR_KMS))
    captured = backup.capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    [copy] = captured["copies"]
    snapshot = state.snapshots[(PROJECT, copy["snapshotHandle"])]
    assert copy == {"region": DR, "snapshotHandle": snapshot["name"], "kmsKeyName": DR_KMS}
    assert snapshot["storageLocations"] == [DR] and snapshot["status"] == "READY"
    assert snapshot["labels"]["salvage-copy-of"] == captured["snapshotHandle"]
    assert snapshot["labels"]["salvage-backup"] == "nightly"

    state.lost_regions = {"us-central1"}
    assert volume_presence(pv("csi"), gce=backup.settings) is Presence.UNKNOWN, "a region that is down cannot say"
    assert state.snapshots[(PROJECT, captured["snapshotHandle"])]["storageLocations"] == ["us"], \
        "GCE's default: the original is multi-regional (it may survive a region, too)"
    restore = provider(endpoint, regions=RegionSettings(restore_region=DR))
    with pytest.raises(CloudError, match="Zone us-east1-b does not exist|zone-mappings"):
        provider(endpoint, regions=RegionSettings(restore_region=DR, zone_map=((ZONE, "us-east1-z"),))
                 ).check_recreate(captured)
    restore.check_recreate(captured)
    spec = restore.recreate(captured, timeout=5, progress=quiet)
    [new] = [d for (_p, z, name), d in state.disks.items() if z.startswith(DR)]
    assert spec["csi"]["volumeHandle"] == f"projects/{PROJECT}/zones/us-east1-b/disks/{new['name']}", \
        "the same zone letter in the other region"
    assert new["sourceSnapshot"] == snapshot["selfLink"] and new["diskEncryptionKey"] == {"kmsKeyName": DR_KMS}

    state.lost_regions = set()
    assert backup.delete_captured(captured) and state.snapshots == {}, "the copy goes with the backup"


def test_bad_copy_and_restore_regions_change_nothing(gce: tuple[str, ComputeState]) -> None:
    endpoint, state = gce
    make_disk(state)
    with pytest.raises(CloudError, match="Cannot copy GCE snapshots to mars-north1: not a region"):
        provider(endpoint, regions=RegionSettings(copy_to=("mars-north1",))).capture(
            CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    assert state.snapshots == {}
    captured = provider(endpoint, regions=RegionSettings(copy_to=(DR,))).capture(
        CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    with pytest.raises(CloudError, match="no copy of the snapshot of shop/www-web-0 in europe-west1"):
        provider(endpoint, regions=RegionSettings(restore_region="europe-west1")).check_recreate(captured)
    with pytest.raises(CloudError, match=f"encrypted with KMS key {KMS} in us-central1"):
        provider(endpoint, regions=RegionSettings(restore_region=DR)).check_recreate(captured)
    disks = dict(state.disks)
    assert state.disks == disks


def test_a_failed_copy_leaves_no_snapshot(gce: tuple[str, ComputeState], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, state = gce
    make_disk(state)
    gcp = provider(endpoint, regions=RegionSettings(copy_to=(DR,)))
    real = gcp._wait_snapshot
    calls: list[Any] = []

    def fail_the_copy(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise CloudError("GCE failed GCE snapshot: QUOTA_EXCEEDED: SNAPSHOTS")
        real(*args, **kwargs)

    monkeypatch.setattr(gcp, "_wait_snapshot", fail_the_copy)
    with pytest.raises(CloudError, match="QUOTA_EXCEEDED"):
        gcp.capture(CLAIM, pv("csi"), "nightly", timeout=5, progress=quiet)
    for _ in range(10):  # deletions are operations the server finishes as they are read
        for operation in list(state.operations):
            state.operation(*operation)
    assert state.snapshots == {}


def test_the_servers_storage_locations_and_lost_region_fault() -> None:
    """The test server keeps ``storageLocations`` as the reference describes it (one regional or
    multi-regional location) and, as a labelled test fault, loses a region."""
    from salvage.devcluster.servers.gce_compute import ApiError

    state = ComputeState(polls=1)
    make_disk(state)
    with pytest.raises(ApiError, match="storageLocations"):
        state.insert_snapshot(PROJECT, {"name": "s0", "sourceDisk": f"projects/{PROJECT}/zones/{ZONE}/disks/pd-www-0",
                                        "storageLocations": ["us-central1", "us-east1"]})
    state.insert_snapshot(PROJECT, {"name": "s1", "sourceDisk": f"projects/{PROJECT}/zones/{ZONE}/disks/pd-www-0",
                                    "storageLocations": ["us-central1"]})
    for operation in list(state.operations):
        state.operation(*operation)
    state.lost_regions = {"us-central1"}
    with pytest.raises(ApiError, match="stored only in us-central1, which is down"):
        state.insert_disk(PROJECT, "us-east1-b", {"name": "d1", "sourceSnapshot": "global/snapshots/s1"})
    with pytest.raises(ApiError) as down:
        state.zone(PROJECT, ZONE)
    assert down.value.code == 503
    assert state.region(PROJECT, "us-central1")["status"] == "DOWN"
