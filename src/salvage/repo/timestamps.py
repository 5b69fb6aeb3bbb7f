"""Timestamps as the repository writes them: UTC, ISO 8601, with a ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal


def utc_now(timespec: Literal["seconds", "microseconds"] = "seconds") -> str:
    return datetime.now(timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
