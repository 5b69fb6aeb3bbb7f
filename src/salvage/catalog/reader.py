"""Read backups from a location: list them, load and verify one, stream its items."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import zstandard

from salvage.catalog import layout
from salvage.catalog.backup_records import Manifest, ResourceEntry, VolumeRecord
from salvage.model.errors import NotFoundError, SalvageError
from salvage.storage.base import Store
from salvage.storage.errors import ObjectNotFoundError


class IncompleteBackupError(SalvageError):
    """A backup has objects but no manifest: it never finished (or is still running)."""


class CorruptBackupError(SalvageError):
    """An object of a backup is missing or does not match the manifest's checksum."""


class UnsupportedFormatError(SalvageError):
    """The backup was written in a format version this Salvage does not know."""


@dataclass(frozen=True)
class BackupSummary:
    name: str
    phase: str
    started: str | None
    completed: str | None
    expires: str | None
    items: int
    volumes: int
    errors: int
    warnings: int
    labels: dict[str, str] = field(default_factory=dict)


def list_backups(store: Store) -> list[BackupSummary]:
    """Every backup on the location; those without a manifest show as Incomplete."""
    names = sorted({n for info in store.list(f"{layout.ROOT}/") if (n := layout.backup_name_of(info.key))})
    summaries = []
    for name in names:
        try:
            reader = BackupReader(store, name)
        except IncompleteBackupError:
            summaries.append(BackupSummary(name, "Incomplete", None, None, None, 0, 0, 0, 0))
            continue
        except UnsupportedFormatError:
            summaries.append(BackupSummary(name, "UnsupportedFormat", None, None, None, 0, 0, 0, 0))
            continue
        summaries.append(reader.summary())
    return summaries


class BackupReader:
    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name
        try:
            raw = store.get(layout.manifest(name))
        except ObjectNotFoundError:
            if next(iter(store.list(layout.prefix(name))), None) is None:
                raise NotFoundError(f"There is no backup named {name!r} on {store.url}.",
                                    hint="List backups with `salvage backup get`.") from None
            raise IncompleteBackupError(
                f"Backup {name!r} has no manifest (incomplete); it cannot be restored.",
                hint=f"Run `salvage backup describe {name}` to see why; its log may say.") from None
        try:
            self.manifest: Manifest = json.loads(raw)
        except ValueError as exc:
            raise CorruptBackupError(f"The manifest of backup {name!r} is not valid JSON.") from exc
        version = self.manifest.get("formatVersion")
        if version != layout.FORMAT_VERSION:
            raise UnsupportedFormatError(
                f"Backup {name!r} has format version {version}; this Salvage reads version {layout.FORMAT_VERSION}.",
                hint="Use a Salvage release that knows that format version.")

    def summary(self) -> BackupSummary:
        m = self.manifest
        result = self.result()
        return BackupSummary(
            self.name, m["phase"], m.get("startedAt"), m.get("completedAt"), m.get("expiresAt"),
            sum(r["count"] for r in m["resources"]), len(self.volumes()),
            len(result.get("errors", [])), len(result.get("warnings", [])), dict(m.get("labels") or {}),
        )

    def verify(self, *, workers: int = 4) -> None:
        """Check every object against the manifest; raise naming each bad one."""
        def check(item: tuple[str, Any]) -> str | None:
            rel, entry = item
            key = layout.prefix(self.name) + rel
            try:
                data = self.store.get(key)
            except ObjectNotFoundError:
                return f"{key} is missing"
            if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                return f"{key} does not match its checksum (size {len(data)}, expected {entry['size']})"
            return None

        with ThreadPoolExecutor(workers) as pool:
            problems = [p for p in pool.map(check, self.manifest["files"].items()) if p]
        if problems:
            raise CorruptBackupError(
                f"Backup {self.name!r} is damaged: " + "; ".join(problems) + ".",
                hint="Nothing was changed. Restore from another backup, or check the location's storage.")

    def resources(self) -> list[ResourceEntry]:
        return list(self.manifest["resources"])

    def items(self, entry: ResourceEntry) -> Iterator[dict[str, Any]]:
        for rel in entry["files"]:
            data = self.store.get(layout.prefix(self.name) + rel)
            with zstandard.ZstdDecompressor().stream_reader(data) as stream:
                buffer = b""
                while chunk := stream.read(1 << 20):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line:
                            yield json.loads(line)
                if buffer.strip():
                    yield json.loads(buffer)

    def volumes(self) -> list[VolumeRecord]:
        return list(self._json(layout.volumes(self.name), []))

    def result(self) -> dict[str, Any]:
        return dict(self._json(layout.result(self.name), {}))

    def log_lines(self) -> list[dict[str, Any]]:
        return read_log(self.store, self.name)

    def stored_bytes(self) -> int:
        return sum(e["size"] for e in self.manifest["files"].values())

    def _json(self, key: str, default: Any) -> Any:
        try:
            return json.loads(self.store.get(key))
        except ObjectNotFoundError:
            return default


def read_log(store: Store, name: str) -> list[dict[str, Any]]:
    """A backup's log; readable even when the backup is incomplete (written before the manifest)."""
    try:
        data = store.get(layout.log(name))
    except ObjectNotFoundError:
        return []
    text = zstandard.ZstdDecompressor().decompressobj().decompress(data).decode()
    return [json.loads(line) for line in text.splitlines() if line]
