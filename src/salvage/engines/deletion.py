"""Deleting a backup: its snapshots, then its objects (manifest first, so a half-deleted
backup shows as incomplete, never as a complete one with holes)."""

from __future__ import annotations

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader, IncompleteBackupError
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.cloud import AwsSettings
from salvage.model.errors import NotFoundError, UsageError
from salvage.volumes.method import MethodContext
from salvage.volumes.registry import Methods, is_registered


def delete_backup(client: KubeClient | None, location: Location, name: str,
                  aws: AwsSettings | None = None) -> tuple[int, int]:
    """Remove the backup's snapshots and objects; returns (snapshots, objects) deleted."""
    if location.spec.read_only:
        raise UsageError(f"Location {location.name!r} is ReadOnly; nothing can be deleted from it.")
    volumes = []
    try:
        volumes = BackupReader(location.store, name).volumes()
    except IncompleteBackupError:
        pass
    methods = Methods(MethodContext(client, location.store, aws=aws or AwsSettings()))
    snapshots = sum(methods[r["method"]].delete_captured(r) for r in volumes if is_registered(r.get("method")))
    keys = [info.key for info in location.store.list(layout.prefix(name))]
    if not keys:
        raise NotFoundError(f"There is no backup named {name!r} on location {location.name!r}.",
                            hint="List backups with `salvage backup get`.")
    manifest = layout.manifest(name)
    for key in sorted(keys, key=lambda k: k != manifest):
        location.store.delete(key)
    return snapshots, len(keys)
