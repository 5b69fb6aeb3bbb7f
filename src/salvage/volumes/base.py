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
- progress goes through the callback as ``("volume", {"pvc": ..., "state": ...})``.

CSI snapshots (``csi_snapshots``) are not a provider of this kind: their restore is a claim
with a snapshot data source, provisioned by the driver, not a PV Salvage writes. Every
volume method, cloud disk or not, implements :class:`salvage.volumes.method.VolumeMethod`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from salvage.catalog.records import VolumeRecord

Progress = Callable[[str, dict[str, Any]], None]
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
