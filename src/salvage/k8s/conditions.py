"""Reading readiness from an object's status: conditions (Ready, Established), ready
replicas, a claim's phase. No I/O: waits (waits.py) take these as their test."""

from __future__ import annotations

from typing import Any


def has_condition(obj: dict[str, Any], condition: str) -> bool:
    """Whether ``obj`` reports ``condition`` (e.g. Ready, Established) with status True."""
    return any(c.get("type") == condition and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def replicas_ready(obj: dict[str, Any], field_name: str = "readyReplicas") -> bool:
    """Whether a workload (StatefulSet, Deployment, ReplicaSet) has as many replicas
    ``field_name`` (readyReplicas, availableReplicas) as its spec asks for (1 when unset)."""
    want = (obj.get("spec") or {}).get("replicas", 1)
    return int((obj.get("status") or {}).get(field_name) or 0) >= want


def is_bound(claim: dict[str, Any] | None) -> bool:
    """Whether a PersistentVolumeClaim (None: absent) is Bound to a volume."""
    return bool(claim) and (claim.get("status") or {}).get("phase") == "Bound"  # type: ignore[union-attr]
