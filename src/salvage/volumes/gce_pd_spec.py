"""GCE Persistent Disk facts read from and written into Kubernetes objects: which disk a PV
names, GCE's name and label rules, what a disk type allows, and the PV for a re-created disk.

Pure functions (no I/O, no SDK), so every rule is unit-tested.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import CloudError
from salvage.volumes import pv_zone

METHOD = "gce-pd"  # the volume records' method (volumes/registry.py)
CSI_DRIVER = "pd.csi.storage.gke.io"
IN_TREE = "gcePersistentDisk"
ZONE_LABEL = "topology.kubernetes.io/zone"
# Labels and affinity keys that name a PV's zone, newest first.
_ZONE_KEYS = (ZONE_LABEL, "topology.gke.io/zone", "failure-domain.beta.kubernetes.io/zone")
# RFC 1035, as GCE names disks and snapshots.
_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
# projects/P/zones/Z/disks/D (the PD CSI driver's handle for a zonal disk).
_CSI_HANDLE = re.compile(r"^projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)$")
# projects/P/regions/R/disks/D (a regional disk, replicated in two zones of R).
_CSI_REGIONAL = re.compile(r"^projects/(?P<project>[^/]+)/regions/(?P<region>[^/]+)/disks/(?P<disk>[^/]+)$")
_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
REGIONAL_TYPES = ("pd-standard", "pd-balanced", "pd-ssd")  # a regional pd-standard takes 200 GiB at least
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")  # us-central1-a, europe-west1-b

# Size limits in GiB per type (GCE "Persistent Disk" and "disk types" documentation). A type
# outside this table is one Salvage cannot promise to create: refused before anything is made.
SIZE_LIMITS_GIB = {"pd-standard": (10, 65536), "pd-balanced": (10, 65536), "pd-ssd": (10, 65536),
                   "pd-extreme": (500, 65536)}


@dataclass(frozen=True)
class GceDiskRef:
    """The zonal disk a PV names, and how it names it."""

    project: str | None  # None: the in-tree form names no project
    zone: str
    disk: str
    form: str  # "gcePersistentDisk" (in-tree) or "csi"
    fs_type: str | None
    region: str | None = None  # a regional disk's region (``zone`` is then empty)


def is_gce_pd(pv: dict[str, Any]) -> bool:
    spec = pv.get("spec") or {}
    return IN_TREE in spec or (spec.get("csi") or {}).get("driver") == CSI_DRIVER


def disk_ref(pv: dict[str, Any]) -> GceDiskRef:
    """The disk behind ``pv``: in-tree ``pdName`` (its zone from the PV's labels or node
    affinity; ``Z1__Z2`` for a regional disk) or a CSI ``projects/P/zones/Z/disks/D`` handle
    (``projects/P/regions/R/disks/D`` for a regional disk)."""
    name = pv.get("metadata", {}).get("name", "?")
    spec = pv.get("spec") or {}
    if IN_TREE in spec:
        disk, project = str(spec[IN_TREE].get("pdName") or ""), None
        zone = zone_of(pv)
        form, fs_type = IN_TREE, spec[IN_TREE].get("fsType")
        if not zone:
            raise CloudError(f"PersistentVolume {name} names GCE disk {disk!r} but not its zone.",
                             hint=f"Label the PV {ZONE_LABEL}=<zone> (GKE does), then back up again.")
        if "__" in zone:  # the in-tree plugin's label for a regional disk's two zones
            return _checked(GceDiskRef(None, "", disk, IN_TREE, spec[IN_TREE].get("fsType"),
                                       region_of(zone.split("__")[0])), name)
    elif (spec.get("csi") or {}).get("driver") == CSI_DRIVER:
        handle = str(spec["csi"].get("volumeHandle") or "")
        regional = _CSI_REGIONAL.match(handle)
        if regional and _REGION.match(regional["region"]):
            return _checked(GceDiskRef(regional["project"], "", regional["disk"], "csi", spec["csi"].get("fsType"),
                                       regional["region"]), name)
        match = _CSI_HANDLE.match(handle)
        if not match:
            raise CloudError(f"PersistentVolume {name} has PD CSI handle {handle!r}, not a GCE disk "
                             "(projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D).",
                             hint="Check the PV, or use --volume-snapshot-provider csi.")
        project, zone, disk = match["project"], match["zone"], match["disk"]
        form, fs_type = "csi", spec["csi"].get("fsType")
    else:
        raise CloudError(f"PersistentVolume {name} is not a GCE persistent disk.",
                         hint="Use --volume-snapshot-provider auto or csi for other volumes.")
    region_of(zone)
    return _checked(GceDiskRef(project, zone, disk, form, fs_type), name)


def _checked(ref: GceDiskRef, name: str) -> GceDiskRef:
    if not _NAME.match(ref.disk):
        raise CloudError(f"PersistentVolume {name} names GCE disk {ref.disk!r}, which is not a disk name.",
                         hint="Check the PV's pdName or volumeHandle.")
    return ref


def zone_of(pv: dict[str, Any]) -> str | None:
    """The zone a PV's labels or node affinity pin it to, if any."""
    return pv_zone.zone_of(pv, _ZONE_KEYS)


def region_of(zone: str) -> str:
    match = _ZONE.match(zone)
    if not match:
        raise CloudError(f"{zone!r} is not a GCE zone name (like us-central1-a).",
                         hint="Check the zone in the PV's labels, node affinity or volume handle.")
    return match.group(1)


def label_value(value: str) -> str:
    """A GCE label value for ``value``: lowercase letters, digits, '-' and '_', at most 63
    characters (Kubernetes names fit once dots become '-'); the exact names go in the description."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def labels(**values: str | None) -> dict[str, str]:
    """Salvage's labels (``salvage-<key>``) for the given values, the empty ones left out."""
    return {f"salvage-{key}": label_value(value) for key, value in values.items() if value}


def resource_name(*parts: str, salt: str) -> str:
    """A GCE resource name (RFC 1035, at most 63) that says what it is for and is unique by ``salt``."""
    readable = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:42].rstrip("-")
    digest = hashlib.sha256("/".join((*parts, salt)).encode()).hexdigest()[:10]
    return f"salvage-{readable}-{digest}" if readable else f"salvage-{digest}"


def check_disk_type(record: VolumeRecord) -> None:
    """Refuse a type/size combination GCE would reject, before anything is created."""
    kind, size = record.get("volumeType", ""), int(record.get("sizeGiB") or 0)
    where = f"the volume of {record.get('namespace')}/{record.get('pvc')}"
    if kind not in SIZE_LIMITS_GIB:
        raise CloudError(f"Salvage cannot create GCE disk type {kind!r} for {where}.",
                         hint=f"Known types: {', '.join(sorted(SIZE_LIMITS_GIB))}.")
    low, high = SIZE_LIMITS_GIB[kind]
    if record.get("replicaZones"):
        if kind not in REGIONAL_TYPES:
            raise CloudError(f"GCE has no regional {kind} disk for {where}.",
                             hint=f"Regional types: {', '.join(REGIONAL_TYPES)}.")
        low = 200 if kind == "pd-standard" else low
    if not low <= size <= high:
        raise CloudError(f"GCE cannot create a {size} GiB {kind} disk for {where} ({kind} takes {low}-{high} GiB).",
                         hint="Restore into a type that allows this size.")


def regional_pv_spec(record: VolumeRecord, project: str, region: str, zones: list[str], disk: str) -> dict[str, Any]:
    """The spec of a PV for a re-created regional disk, in the original's form, pinned to
    either of its two zones (the disk attaches in both)."""
    spec = pv_zone.zoned_pv_spec(record, zones[0], ZONE_LABEL, csi={"driver": CSI_DRIVER, "volumeHandle": f"projects/{project}/regions/{region}/disks/{disk}"},
                                 in_tree=(IN_TREE, {"pdName": disk}))
    spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = list(zones)
    return spec


def persistent_volume_spec(record: VolumeRecord, project: str, zone: str, disk: str) -> dict[str, Any]:
    """The spec of a PV for a re-created disk, in the original's form, pinned to its zone."""
    return pv_zone.zoned_pv_spec(record, zone, ZONE_LABEL, csi={"driver": CSI_DRIVER, "volumeHandle": f"projects/{project}/zones/{zone}/disks/{disk}"},
                                 in_tree=(IN_TREE, {"pdName": disk}))
