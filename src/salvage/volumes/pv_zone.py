"""A PersistentVolume's zone, read and written the same way for every cloud's zonal disks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def zone_of(pv: dict[str, Any], keys: Sequence[str]) -> str | None:
    """The zone a PV's labels or node affinity pin it to, by the first of ``keys`` found
    (the cloud's label keys, newest first), if any."""
    labels = pv.get("metadata", {}).get("labels") or {}
    for key in keys:
        if labels.get(key):
            return str(labels[key])
    terms = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") in keys and expr.get("operator") == "In" and len(expr.get("values") or []) == 1:
                return str(expr["values"][0])
    return None


def zoned_pv_spec(record: dict[str, Any], zone: str, zone_label: str, *, csi: dict[str, Any],
                  in_tree: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """The spec of a PV for a re-created disk, in the original's form (the record's
    ``pvSource``: ``csi``, else the in-tree ``(field, source)``), pinned to the disk's zone
    (a zonal disk attaches only to nodes in its zone)."""
    spec: dict[str, Any] = {
        "capacity": {"storage": f"{int(record.get('sizeGiB') or 1)}Gi"},
        "accessModes": list(record.get("accessModes") or ["ReadWriteOnce"]),
        "persistentVolumeReclaimPolicy": record.get("reclaimPolicy") or "Delete",
        "volumeMode": record.get("volumeMode") or "Filesystem",
        "nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": zone_label, "operator": "In", "values": [zone]}]}]}},
    }
    if record.get("storageClass"):
        spec["storageClassName"] = record["storageClass"]
    fs_type = {"fsType": record["fsType"]} if record.get("fsType") else {}
    if record.get("pvSource") == "csi":
        spec["csi"] = {**csi, **fs_type}
    else:
        field, source = in_tree
        spec[field] = {**source, **fs_type}
    return spec
