"""Restore reports kept on this machine (a ReadOnly location must not be written to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salvage.locations.config import data_dir
from salvage.model.errors import NotFoundError


def _dir() -> Path:
    return data_dir() / "restores"


class ItemLog:
    """Each item of a restore, appended as JSON lines as the restore goes."""

    def __init__(self, name: str) -> None:
        self.path = _dir() / f"{name}.items.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w")

    def add(self, item: Any) -> None:
        self._file.write(json.dumps(item if isinstance(item, dict) else vars(item)) + "\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ItemLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_restore(report: dict[str, Any]) -> Path:
    path = _dir() / f"{report['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(path)
    return path


def load_restore(name: str, *, items: bool = True) -> dict[str, Any]:
    """A restore's report, with its items (read from the item log) unless ``items`` is False."""
    try:
        report = dict(json.loads((_dir() / f"{name}.json").read_text()))
    except FileNotFoundError:
        raise NotFoundError(f"There is no restore named {name!r}.",
                            hint="List restores with `salvage restore get`.") from None
    if items:
        log = _dir() / f"{name}.items.jsonl"
        report["items"] = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return report


def list_restores() -> list[dict[str, Any]]:
    if not _dir().exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(_dir().glob("*.json"))]  # reports only, no items


def restore_exists(name: str) -> bool:
    return (_dir() / f"{name}.json").exists()
