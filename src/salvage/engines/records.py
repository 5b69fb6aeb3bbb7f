"""Restore reports kept on this machine (a ReadOnly location must not be written to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salvage.locations.config import data_dir
from salvage.model.errors import NotFoundError


def _dir() -> Path:
    return data_dir() / "restores"


def save_restore(report: dict[str, Any]) -> Path:
    path = _dir() / f"{report['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(path)
    return path


def load_restore(name: str) -> dict[str, Any]:
    try:
        return dict(json.loads((_dir() / f"{name}.json").read_text()))
    except FileNotFoundError:
        raise NotFoundError(f"There is no restore named {name!r}.",
                            hint="List restores with `salvage restore get`.") from None


def list_restores() -> list[dict[str, Any]]:
    if not _dir().exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(_dir().glob("*.json"))]


def restore_exists(name: str) -> bool:
    return (_dir() / f"{name}.json").exists()
