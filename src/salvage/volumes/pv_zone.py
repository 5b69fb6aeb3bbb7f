"""Which zone a PersistentVolume is pinned to, read the same way for every cloud's disks."""

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
