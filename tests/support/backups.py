"""What a backup on a location holds, read from its catalog (not through the command line);
and small finished backups written straight into a store, for engines that pick backups."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader
from salvage.catalog.writer import BackupWriter
from salvage.catalog.backup_records import VolumeRecord
from salvage.locations import open_location
from salvage.storage.base import Store


def backed_up(backup: str, location: str | None = None) -> set[tuple[str, str, str]]:
    """Every object in ``backup`` as (resource, namespace, name); resource is ``plural[.group]``."""
    reader = BackupReader(open_location(location).store, backup)
    return {
        (f"{entry['resource']}.{entry['group']}" if entry["group"] else entry["resource"],
         item["metadata"].get("namespace", ""), item["metadata"]["name"])
        for entry in reader.resources() for item in reader.items(entry)
    }


def names_of(objects: set[tuple[str, str, str]], resource: str, namespace: str = "") -> set[str]:
    """The names of one resource's objects (in ``namespace``, if given)."""
    return {name for res, ns, name in objects if res == resource and (not namespace or ns == namespace)}


def rewrite_volume_records(store: Store, backup: str, change: Callable[[list[VolumeRecord]], None]) -> None:
    """Change a backup's volume records in place and update their checksum in its manifest,
    as a writer holding the location's keys could: every catalog checksum still holds."""
    records = json.loads(store.get(layout.volumes(backup)))
    change(records)
    body = json.dumps(records).encode()
    store.put(layout.volumes(backup), body)
    manifest = json.loads(store.get(layout.manifest(backup)))
    manifest["files"][layout.relative(backup, layout.volumes(backup))].update(
        sha256=hashlib.sha256(body).hexdigest(), size=len(body))
    store.put(layout.manifest(backup), json.dumps(manifest).encode())


def write_backup(store: Store, name: str, started: str, phase: str = "Completed", **labels: str) -> None:
    """A finished backup with no objects and no volumes, started (and completed) at ``started``."""
    writer = BackupWriter(store, name)
    writer.put_json(layout.volumes(name), [])
    writer.finish({"formatVersion": layout.FORMAT_VERSION, "kind": "Backup", "name": name, "phase": phase,
                   "startedAt": started, "completedAt": started, "expiresAt": None, "cluster": {}, "spec": {},
                   "labels": labels, "resources": [], "files": {}})
