"""Reading status conditions, the way every Kubernetes object reports readiness."""

from __future__ import annotations

from typing import Any


def has_condition(obj: dict[str, Any], condition: str) -> bool:
    """Whether ``obj`` reports ``condition`` (e.g. Ready, Established) with status True."""
    return any(c.get("type") == condition and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])
