"""Cross-region copies of Azure incremental snapshots (CopyStart) against our ARM test server:
the copy made in the other region and waited for until its background copy is complete,
recorded, restored from in that region while the original region is down, and deleted with
the backup; a customer key without a counterpart in the copy's region is refused first."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.devcluster.servers.azure_compute import SUBSCRIPTION, ArmState
from salvage.model.cloud_settings import AzureSettings, RegionSettings
from salvage.model.errors import CloudError
from salvage.volumes.presence import Presence, volume_presence
from tests.unit.volumes.test_azure_disk import CLAIM, DES, GROUP, REGION, arm, make_disk, provider, pv, quiet, resources

__all__ = ["arm"]
DR = "northeurope"
DR_DES = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Compute/diskEncryptionSets/dr"


def test_a_copy_in_another_region_survives_its_loss(arm: tuple[AzureSettings, ArmState]) -> None:
    settings, state = arm
    make_disk(settings, zone="2")
    backup = provider(settings, regions=RegionSettings(copy_to=(DR,), copy_kms_key=DR_DES))
    events: list[str] = []
    record = backup.capture(CLAIM, pv("csi"), "nightly", timeout=30, progress=lambda e: events.append(e.state))
    [copy] = record["copies"]
    snapshots = resources(state, "snapshots")
    copied = next(s for s in snapshots.values() if s["id"] == copy["snapshotHandle"])
    assert copy == {"region": DR, "snapshotHandle": copied["id"], "diskEncryptionSetId": DR_DES}
    assert copied["location"] == DR and copied["properties"]["incremental"]
    assert copied["properties"]["creationData"] == {
        "createOption": "CopyStart", "sourceResourceId": record["snapshotHandle"],
        "sourceUniqueId": snapshots[record["snapshotHandle"].rsplit("/", 1)[-1]]["properties"]["uniqueId"]}
    assert copied["properties"]["completionPercent"] == 100.0 and any(e.endswith(" 50%") for e in events), \
        "the background copy was waited for"
    assert copied["tags"]["salvage-copy-of"] == record["snapshotHandle"].rsplit("/", 1)[-1]

    state.lost_regions = {REGION}
    assert volume_presence(pv("csi"), azure=backup.settings) is Presence.UNKNOWN, "a region that is down cannot say"
    with pytest.raises(CloudError, match="ServiceUnavailable"):
        provider(settings).check_recreate(record)  # the original, in the lost region
    restore = provider(settings, regions=RegionSettings(restore_region=DR))
    restore.check_recreate(record)
    spec = restore.recreate(record, timeout=30, progress=quiet)
    [disk] = [d for d in resources(state, "disks").values() if d["location"] == DR]
    assert (disk["zones"], disk["sku"]["name"], disk["properties"]["diskSizeGB"]) == (["2"], "Premium_LRS", 20), \
        "the same zone number, SKU and size"
    assert disk["properties"]["creationData"]["sourceResourceId"] == copy["snapshotHandle"]
    assert disk["properties"]["encryption"]["diskEncryptionSetId"] == DR_DES
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [f"{DR}-2"]

    state.lost_regions = set()
    assert backup.delete_captured(record)
    _finish_operations(state)
    assert resources(state, "snapshots") == {}, "the copy goes with the backup"


def test_a_customer_key_without_one_in_the_copys_region_is_refused_first(arm: tuple[AzureSettings, ArmState]) -> None:
    settings, state = arm
    make_disk(settings, des=DES)
    with pytest.raises(CloudError, match=f"encrypted with disk encryption set {DES}, which cannot encrypt a copy"):
        provider(settings, regions=RegionSettings(copy_to=(DR,))).capture(
            CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    assert resources(state, "snapshots") == {}


def test_a_copy_azure_refuses_leaves_no_snapshot(arm: tuple[AzureSettings, ArmState]) -> None:
    settings, state = arm
    make_disk(settings, des=None)
    with pytest.raises(CloudError, match="LocationNotAvailableForResourceType"):
        provider(settings, regions=RegionSettings(copy_to=("atlantis",))).capture(
            CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    _finish_operations(state)
    assert resources(state, "snapshots") == {}, "the original was deleted"


def test_restore_region_without_a_copy(arm: tuple[AzureSettings, ArmState]) -> None:
    settings, _ = arm
    make_disk(settings, des=None)
    record: Any = provider(settings).capture(CLAIM, pv("csi"), "nightly", timeout=30, progress=quiet)
    with pytest.raises(CloudError, match=f"no copy of the snapshot of shop/www-web-0 in {DR}"):
        provider(settings, regions=RegionSettings(restore_region=DR)).check_recreate(record)


def _finish_operations(state: ArmState) -> None:
    """Read every operation until it ends (deletions end as their operations are read)."""
    for _ in range(5):
        for op_id, operation in list(state.operations.items()):
            operation.read(op_id)
