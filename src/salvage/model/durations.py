"""Durations as people write them (``720h``, ``30d``, ``1h30m``), for every front door."""

from __future__ import annotations

import re

from salvage.model.errors import UsageError


def parse_duration(value: str | None) -> int | None:
    """``720h``, ``30d``, ``90m``, ``45s`` (or combinations like ``1h30m``) in seconds."""
    if not value:
        return None
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([dhms])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"{value!r} is not a duration.", hint="Use e.g. 720h, 30d, 1h30m.")
    return sum(int(n) * units[u] for n, u in parts)
