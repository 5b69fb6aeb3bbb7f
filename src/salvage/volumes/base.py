"""The seam between engines and cloud-disk providers (AWS EBS now; GCE PD and Azure Disk next).

A provider snapshots the disk behind a PersistentVolume into a volume record, re-creates a
disk from such a record and hands back the spec of a PersistentVolume for it, and deletes
the snapshots it made. Each provider is a volume method through :class:`salvage.volumes.cloud_disks.CloudDiskMethod`,
registered by its ``method`` in volumes/registry.py; engines never see an SDK. Rules every provider keeps:

- ``check_recreate`` and ``capture`` validate before they change anything: a bad region,
  zone, volume type or missing credentials is a :class:`~salvage.model.errors.CloudError`
  and nothing was created;
- the PV spec returned by ``recreate`` has no name and no claimRef: the caller names it and
  binds it to the claim it restores, so a StatefulSet adopts the claim by name;
- progress goes through the callback as :class:`~salvage.model.progress.VolumeState` events.

CSI snapshots (``csi_snapshots``) are not a provider of this kind: their restore is a claim
with a snapshot data source, provisioned by the driver, not a PV Salvage writes. Every
volume method, cloud disk or not, implements :class:`salvage.volumes.method.VolumeMethod`.
"""

from __future__ import annotations

from typing import Any, Protocol

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.cloud_settings import RegionSettings
from salvage.model.errors import CloudError
from salvage.model.progress import Progress

JSON = dict[str, Any]


def claim_fields(claim: JSON, pv: JSON, method: str, **disk: Any) -> VolumeRecord:
    """The fields of a cloud disk's volume record that come from its claim and PV (what the
    re-created PV and claim need), with the provider's own ``disk`` fields."""
    spec = pv.get("spec") or {}
    record: VolumeRecord = {
        "namespace": claim["metadata"]["namespace"], "pvc": claim["metadata"]["name"], "pv": pv["metadata"]["name"],
        "storageClass": claim["spec"].get("storageClassName"),
        "size": claim["spec"].get("resources", {}).get("requests", {}).get("storage", ""),
        "method": method,
        "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
        "reclaimPolicy": spec.get("persistentVolumeReclaimPolicy") or "Delete",
        "volumeMode": spec.get("volumeMode") or "Filesystem",
    }
    record.update(disk)  # type: ignore[typeddict-item]
    return record


class VolumeProvider(Protocol):
    method: str  # the volume record's ``method`` this provider writes and reads

    def owns(self, pv: JSON) -> bool:
        """True when the PV's volume is a disk of this provider."""

    def check_access(self) -> None:
        """Raise when the provider cannot be used at all (no credentials); reads only."""

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float, progress: Progress) -> VolumeRecord:
        """Snapshot the disk behind ``pv`` (bound to ``claim``) for ``backup``; wait until done."""

    def check_recreate(self, record: VolumeRecord) -> None:
        """Raise if ``recreate`` could not succeed (credentials, region, zone, type); reads only."""

    def recreate(self, record: VolumeRecord, *, timeout: float, progress: Progress) -> JSON:
        """A new disk from the record's snapshot; returns the spec of a PV for it."""

    def discard(self, pv_spec: JSON, record: VolumeRecord) -> None:
        """Delete the disk ``recreate`` made (for ``pv_spec``) when its PV could not be created."""

    def delete_captured(self, record: VolumeRecord) -> bool:
        """Delete the record's snapshot; False when it was already gone."""


def relocated(record: VolumeRecord, regions: RegionSettings, old_region: str, label: str
              ) -> tuple[str, str, JSON | None]:
    """Where to re-create the disk of ``record`` from: ``(region, zone, copy)``. Without a
    restore region, the original's region and zone (or the zone ``--zone-mappings`` names) and
    no copy; with one, the record's copy in that region (``backup create --copy-snapshots-to``)
    and the zone mapped for the disk's zone, by default the same zone letter or number there."""
    zone = str(record.get("availabilityZone") or "")
    target = regions.restore_region
    if not target or target == old_region:
        return old_region, regions.zone_for(zone) or zone, None
    copy = next((c for c in record.get("copies") or [] if c.get("region") == target), None)
    if copy is None:
        made = ", ".join(str(c.get("region")) for c in record.get("copies") or []) or "none"
        raise CloudError(f"The backup has no copy of the snapshot of {label} in {target} (copies: {made}).",
                         hint="Pass a --restore-region the backup copied to, or leave it out to restore "
                              "from the original; back up with --copy-snapshots-to REGION next time.")
    return target, mapped_zone(zone, old_region, regions), copy


def mapped_zone(zone: str, old_region: str, regions: RegionSettings) -> str:
    """Where a disk of ``zone`` goes on restore: the zone ``--zone-mappings`` names, else, in a
    restore region, the same zone letter (us-east-1b → us-west-2b) or number (Azure's 1, 2, 3)."""
    target = regions.restore_region or old_region
    if regions.zone_for(zone):
        return str(regions.zone_for(zone))
    return target + zone[len(old_region):] if old_region and zone.startswith(old_region) else zone


def copy_record(region: str, snapshot: str, **extra: Any) -> JSON:
    """One entry of a volume record's ``copies``: the snapshot's copy in ``region``."""
    return {"region": region, "snapshotHandle": snapshot, **{k: v for k, v in extra.items() if v}}
