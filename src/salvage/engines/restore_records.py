"""Restore reports kept on this machine (a ReadOnly location must not be written to), and
the restore that keeps them: ``salvage restore create`` is :func:`restore_here`, the operator
(whose record is the Restore object's status) calls the restore engine itself."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salvage.engines.backup_restore import ItemResult, Progress, RestoreReport, RestoreRequest, restore_backup
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.locations.config import data_dir
from salvage.model.errors import NotFoundError, UsageError
from salvage.model.progress import quiet


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


def restore_name(backup: str, name: str | None = None, now: dt.datetime | None = None) -> str:
    """The restore's name: ``name`` when given, else ``BACKUP-YYYYmmddHHMMSS`` (UTC)."""
    return name or f"{backup}-{now or dt.datetime.now(dt.timezone.utc):%Y%m%d%H%M%S}"


@dataclass
class RecordedRestore:
    report: RestoreReport
    plan: list[ItemResult] = field(default_factory=list)  # a dry run's planned items (else empty)


def restore_here(client: KubeClient, location: Location, request: RestoreRequest,
                 progress: Progress = quiet) -> RecordedRestore:
    """Run a restore and keep its record on this machine: a request without a name is named
    by :func:`restore_name`; a name already recorded here is refused before anything changes
    (a dry run records nothing, so any name goes); each item is logged as it comes, and the
    report is saved at the end (``salvage restore get|describe|logs`` read them)."""
    request = dataclasses.replace(request, name=restore_name(request.backup, request.name))
    if not request.dry_run and restore_exists(request.name):
        raise UsageError(f"A restore named {request.name!r} already exists.", hint="Choose another name.")
    plan: list[ItemResult] = []
    with contextlib.ExitStack() as stack:
        on_item = plan.append if request.dry_run else stack.enter_context(ItemLog(request.name)).add
        report = restore_backup(client, location, request, progress, on_item)
    if not request.dry_run:
        save_restore(report.to_json())
    return RecordedRestore(report, plan)
