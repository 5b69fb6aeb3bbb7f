"""Azure managed disks behind PersistentVolumes: which PVs, which disk, and the PV for a
re-created one. Pure (no SDK, no I/O); volumes/azure_disk.py does the calls."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import CloudError
from salvage.volumes import pv_zone

METHOD = "azure-disk"  # the volume records' method (volumes/registry.py)
CSI_DRIVER = "disk.csi.azure.com"
IN_TREE = "azureDisk"
ZONE_LABEL = "topology.kubernetes.io/zone"  # AKS: "<region>-<zone>", e.g. westeurope-1
# /subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/disks/D (case-insensitive, as ARM).
_DISK_ID = re.compile(r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/"
                      r"Microsoft\.Compute/disks/(?P<disk>[^/]+)$", re.I)
# Disk sizes in GiB per SKU (Azure "managed disk types" documentation). A SKU outside this
# table is one Salvage cannot promise to create: refused before anything is made.
SIZE_LIMITS_GIB = {"Standard_LRS": (1, 32767), "StandardSSD_LRS": (1, 32767), "StandardSSD_ZRS": (1, 32767),
                   "Premium_LRS": (1, 32767), "Premium_ZRS": (1, 32767), "PremiumV2_LRS": (1, 65536),
                   "UltraSSD_LRS": (4, 65536)}


@dataclass(frozen=True)
class AzureDiskRef:
    """The managed disk a PV names, and how it names it."""

    subscription: str
    resource_group: str
    disk: str
    form: str  # "azureDisk" (in-tree) or "csi"
    fs_type: str | None

    @property
    def id(self) -> str:
        return disk_id(self.subscription, self.resource_group, self.disk)


def is_azure_disk(pv: dict[str, Any]) -> bool:
    spec = pv.get("spec") or {}
    return IN_TREE in spec or (spec.get("csi") or {}).get("driver") == CSI_DRIVER


def disk_id(subscription: str, resource_group: str, disk: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/disks/{disk}"


def disk_ref(pv: dict[str, Any]) -> AzureDiskRef:
    """The disk behind ``pv``: the in-tree ``diskURI`` or the CSI ``volumeHandle``, both ARM IDs."""
    name = pv.get("metadata", {}).get("name", "?")
    spec = pv.get("spec") or {}
    if IN_TREE in spec:
        source, form = spec[IN_TREE], IN_TREE
        if (source.get("kind") or "Managed") != "Managed":
            raise CloudError(f"PersistentVolume {name} is an unmanaged (blob) Azure disk; only managed disks "
                             "can be snapshotted.", hint="Use --volume-snapshot-provider csi, or migrate the disk.")
        handle = str(source.get("diskURI") or "")
    elif (spec.get("csi") or {}).get("driver") == CSI_DRIVER:
        source, form = spec["csi"], "csi"
        handle = str(source.get("volumeHandle") or "")
    else:
        raise CloudError(f"PersistentVolume {name} is not an Azure disk.",
                         hint="Use --volume-snapshot-provider auto or csi for other volumes.")
    match = _DISK_ID.match(handle)
    if not match:
        raise CloudError(f"PersistentVolume {name} names Azure disk {handle!r}, not a managed disk ID "
                         "(/subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/disks/D).",
                         hint="Check the PV's diskURI or volumeHandle.")
    return AzureDiskRef(match["subscription"], match["group"], match["disk"], form, source.get("fsType"))


def tags(**values: str | None) -> dict[str, str]:
    """Salvage's tags (``salvage-<key>``) for the given values, the empty ones left out."""
    return {f"salvage-{key}": value[:256] for key, value in values.items() if value}


def resource_name(*parts: str, salt: str) -> str:
    """An Azure resource name (letters, digits, '-', '_', '.', at most 80) that says what it
    is for and is unique by ``salt``."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")[:56].rstrip("-")
    digest = hashlib.sha256("/".join((*parts, salt)).encode()).hexdigest()[:12]
    return f"salvage-{readable}-{digest}" if readable else f"salvage-{digest}"


def check_sku(record: VolumeRecord) -> None:
    """Refuse a SKU/size combination Azure would reject, before anything is created."""
    sku, size = record.get("volumeType", ""), int(record.get("sizeGiB") or 0)
    where = f"the volume of {record.get('namespace')}/{record.get('pvc')}"
    if sku not in SIZE_LIMITS_GIB:
        raise CloudError(f"Salvage cannot create Azure disk SKU {sku!r} for {where}.",
                         hint=f"Known SKUs: {', '.join(sorted(SIZE_LIMITS_GIB))}.")
    low, high = SIZE_LIMITS_GIB[sku]
    if not low <= size <= high:
        raise CloudError(f"Azure cannot create a {size} GiB {sku} disk for {where} ({sku} takes {low}-{high} GiB).",
                         hint="Restore into a SKU that allows this size.")


def persistent_volume_spec(record: VolumeRecord, subscription: str, resource_group: str, disk: str) -> dict[str, Any]:
    """The spec of a PV for a re-created disk, in the original's form; a zonal disk's PV is
    pinned to its zone (``<region>-<zone>``, as AKS labels nodes), a regional one is not."""
    rid = disk_id(subscription, resource_group, disk)
    zone = record.get("availabilityZone")
    spec = pv_zone.zoned_pv_spec(record, f"{record.get('region')}-{zone}", ZONE_LABEL,
                                 csi={"driver": CSI_DRIVER, "volumeHandle": rid},
                                 in_tree=(IN_TREE, {"diskName": disk, "diskURI": rid, "kind": "Managed"}))
    if not zone:
        spec.pop("nodeAffinity")
    return spec
