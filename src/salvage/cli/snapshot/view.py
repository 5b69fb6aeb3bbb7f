"""How snapshots look in tables: kubectl's columns for VolumeSnapshots, and its ages."""

from __future__ import annotations

import datetime as dt
from typing import Any

HEADERS = ("name", "readytouse", "sourcepvc", "restoresize", "snapshotclass", "snapshotcontent",
           "creationtime", "age")


def row(snapshot: dict[str, Any], now: dt.datetime | None = None) -> list[str]:
    meta, spec = snapshot["metadata"], snapshot.get("spec") or {}
    status = snapshot.get("status") or {}
    return [
        meta["name"],
        str(bool(status.get("readyToUse"))).lower(),
        (spec.get("source") or {}).get("persistentVolumeClaimName") or "",
        str(status.get("restoreSize") or ""),
        spec.get("volumeSnapshotClassName") or "",
        status.get("boundVolumeSnapshotContentName") or "",
        age(status.get("creationTime"), now),
        age(meta.get("creationTimestamp"), now),
    ]


def age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    """kubectl's short age: 45s, 3m12s, 5h4m, 3d7h, 40d."""
    if not timestamp:
        return ""
    then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = max(0, int(((now or dt.datetime.now(dt.timezone.utc)) - then).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"
