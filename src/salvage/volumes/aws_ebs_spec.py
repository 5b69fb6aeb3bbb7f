"""EBS facts read from and written into Kubernetes objects: which volume a PV names, the
region of a zone, what a volume type allows, and the PV for a re-created volume.

Pure functions (no I/O, no SDK), so every rule is unit-tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import CloudError
from salvage.volumes import pv_zone

METHOD = "aws-ebs"  # the volume records' method (volumes/registry.py)
CSI_DRIVER = "ebs.csi.aws.com"
IN_TREE = "awsElasticBlockStore"
ZONE_LABEL = "topology.kubernetes.io/zone"
# Labels and affinity keys that name a PV's zone, newest first.
_ZONE_KEYS = (ZONE_LABEL, "topology.ebs.csi.aws.com/zone", "failure-domain.beta.kubernetes.io/zone")
_VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")
# us-east-1a, us-gov-west-1b, us-west-2-lax-1a (local zone), us-east-1-wl1-bos-wlz-1 (wavelength).
_REGION_OF_ZONE = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d+)(?:[a-z]|-[a-z0-9-]+)$")

# Size limits in GiB per type (AWS EBS volume types documentation). A type outside this
# table is one Salvage cannot promise to create: it is refused before anything is made.
SIZE_LIMITS_GIB = {
    "gp2": (1, 16384), "gp3": (1, 16384), "io1": (4, 16384), "io2": (4, 65536),
    "st1": (125, 16384), "sc1": (125, 16384), "standard": (1, 1024),
}
PROVISIONED_IOPS = ("io1", "io2")


@dataclass(frozen=True)
class EbsVolumeRef:
    """The EBS volume a PV names, and how it names it."""

    volume_id: str
    zone: str | None
    form: str  # "awsElasticBlockStore" (in-tree) or "csi"
    fs_type: str | None


def is_ebs(pv: dict[str, Any]) -> bool:
    spec = pv.get("spec") or {}
    return IN_TREE in spec or (spec.get("csi") or {}).get("driver") == CSI_DRIVER


def volume_ref(pv: dict[str, Any]) -> EbsVolumeRef:
    """The EBS volume behind ``pv`` (in-tree ``aws://zone/vol-…`` or ``vol-…``, or a CSI handle)."""
    name = pv.get("metadata", {}).get("name", "?")
    spec = pv.get("spec") or {}
    if IN_TREE in spec:
        raw = str(spec[IN_TREE].get("volumeID") or "")
        # aws://us-east-1a/vol-123 and aws:///vol-123 carry an optional zone; vol-123 none.
        parts = [p for p in raw.removeprefix("aws://").split("/") if p]
        volume_id, zone = (parts[-1] if parts else ""), (parts[0] if len(parts) == 2 else None)
        form, fs_type = IN_TREE, spec[IN_TREE].get("fsType")
    elif (spec.get("csi") or {}).get("driver") == CSI_DRIVER:
        volume_id, zone = str(spec["csi"].get("volumeHandle") or ""), None
        form, fs_type = "csi", spec["csi"].get("fsType")
    else:
        raise CloudError(f"PersistentVolume {name} is not an AWS EBS volume.",
                         hint="Use --volume-snapshot-provider auto or csi for other volumes.")
    if not _VOLUME_ID.match(volume_id):
        raise CloudError(f"PersistentVolume {name} names EBS volume {volume_id!r}, which is not a volume ID "
                         "(vol-…).", hint="Check the PV's volumeID or volumeHandle.")
    return EbsVolumeRef(volume_id, zone or zone_of(pv), form, fs_type)


def zone_of(pv: dict[str, Any]) -> str | None:
    """The zone a PV's labels or node affinity pin it to, if any."""
    return pv_zone.zone_of(pv, _ZONE_KEYS)


def region_of(zone: str) -> str:
    match = _REGION_OF_ZONE.match(zone)
    if not match:
        raise CloudError(f"{zone!r} is not an AWS availability zone name (like us-east-1a).",
                         hint="Check the zone in the PV or --availability-zone.")
    return match.group(1)


def check_volume_type(record: VolumeRecord) -> None:
    """Refuse a type/size/iops combination EBS would reject, before anything is created."""
    kind, size = record.get("volumeType", ""), int(record.get("sizeGiB") or 0)
    where = f"the volume of {record.get('namespace')}/{record.get('pvc')}"
    if kind not in SIZE_LIMITS_GIB:
        raise CloudError(f"EBS cannot create volume type {kind!r} for {where}.",
                         hint=f"Known types: {', '.join(sorted(SIZE_LIMITS_GIB))}.")
    low, high = SIZE_LIMITS_GIB[kind]
    if not low <= size <= high:
        raise CloudError(f"EBS cannot create a {size} GiB {kind} volume for {where} ({kind} takes {low}-{high} GiB).",
                         hint="Restore into a type that allows this size.")
    if kind in PROVISIONED_IOPS and not record.get("iops"):
        raise CloudError(f"EBS cannot create an {kind} volume for {where} without provisioned IOPS.",
                         hint="The backup's record lacks iops; it was not made from an io1/io2 volume.")


def persistent_volume_spec(record: VolumeRecord, volume_id: str, zone: str) -> dict[str, Any]:
    """The spec of a PV for a re-created disk, in the original's form, pinned to its zone."""
    return pv_zone.zoned_pv_spec(record, zone, ZONE_LABEL, csi={"driver": CSI_DRIVER, "volumeHandle": volume_id},
                                 in_tree=(IN_TREE, {"volumeID": f"aws://{zone}/{volume_id}"}))
