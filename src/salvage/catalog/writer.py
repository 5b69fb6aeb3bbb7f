"""Write one backup's objects once, with checksums, and the manifest last."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from typing import Any

import zstandard

from salvage.catalog import layout
from salvage.catalog.backup_records import FileEntry, Manifest, ResourceEntry
from salvage.model.errors import UsageError
from salvage.storage.base import Store

# Raw JSON per part before starting the next one: bounds memory whatever the object count.
PART_BYTES = 8 * 1024 * 1024


class _ResourceStream:
    def __init__(self, writer: BackupWriter, entry: ResourceEntry) -> None:
        self.writer, self.entry = writer, entry
        self._buffer = io.BytesIO()
        self._compressor = zstandard.ZstdCompressor(level=3).stream_writer(self._buffer, closefd=False)
        self._raw = 0

    def add(self, obj: dict[str, Any], text: str | None = None) -> None:
        """Add an item; ``text``, when given, is its JSON on one line (the server's own, as
        k8s/listing.py keeps it), written as it is rather than serialised again."""
        line = (text if text is not None else json.dumps(obj, separators=(",", ":"))).encode() + b"\n"
        self._compressor.write(line)
        self._raw += len(line)
        self.entry["count"] += 1
        if self._raw >= PART_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._raw == 0:
            return
        self._compressor.flush(zstandard.FLUSH_FRAME)
        e = self.entry
        key = layout.resources(self.writer.name, e["group"], e["version"], e["resource"], len(e["files"]))
        self.writer.put(key, self._buffer.getvalue())
        e["files"].append(layout.relative(self.writer.name, key))
        self._buffer = io.BytesIO()
        self._compressor = zstandard.ZstdCompressor(level=3).stream_writer(self._buffer, closefd=False)
        self._raw = 0


class BackupWriter:
    """Collects a backup's objects. Nothing is ever overwritten: a name in use is refused."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, layout.check_name(name)
        if next(iter(store.list(layout.prefix(name))), None) is not None:
            raise UsageError(f"A backup named {name!r} already exists on this location.",
                             hint="Backups are written once: choose another name, or delete the old one "
                                  f"with `salvage backup delete {name}`.")
        self.files: dict[str, FileEntry] = {}
        self.resources: list[ResourceEntry] = []
        self.bytes_written = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        self.store.put(key, data)
        with self._lock:
            self.files[layout.relative(self.name, key)] = {
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            }
            self.bytes_written += len(data)

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, json.dumps(value, indent=1, sort_keys=True).encode())

    def resource(self, group: str, version: str, resource: str, kind: str, namespaced: bool) -> _ResourceStream:
        entry: ResourceEntry = {"group": group, "version": version, "resource": resource, "kind": kind,
                                "namespaced": namespaced, "count": 0, "files": []}
        with self._lock:
            self.resources.append(entry)
        return _ResourceStream(self, entry)

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest last; only now does the backup exist as complete."""
        manifest["files"] = dict(sorted(self.files.items()))
        manifest["resources"] = sorted((r for r in self.resources if r["count"]),
                                       key=lambda r: (r["group"], r["resource"]))
        data = json.dumps(manifest, indent=1).encode()
        if not self.store.put_if_absent(layout.manifest(self.name), data):
            raise UsageError(f"Backup {self.name!r} was completed by someone else meanwhile.")
