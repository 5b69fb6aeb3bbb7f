"""Deleting a backup: its snapshots, then its objects (manifest first, so a half-deleted
backup shows as incomplete, never as a complete one with holes)."""

from __future__ import annotations

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader, IncompleteBackupError
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import NotFoundError, UsageError
from salvage.repo.errors import RepositoryNotFoundError
from salvage.repo.prune import forget_snapshots
from salvage.repo.repository import Repository
from salvage.volumes import fs, location_repository
from salvage.volumes.method import MethodContext
from salvage.volumes.registry import Methods, is_registered


def delete_backup(client: KubeClient | None, location: Location, name: str,
                  aws: AwsSettings | None = None, repo_password: str | None = None,
                  gce: GceSettings | None = None, azure: AzureSettings | None = None) -> tuple[int, int]:
    """Remove the backup's snapshots (CSI, cloud disks, and file-level ones in the location's
    repository, with the data only they used) and its objects; returns (snapshots, objects)."""
    if location.spec.read_only:
        raise UsageError(f"Location {location.name!r} is ReadOnly; nothing can be deleted from it.")
    volumes = []
    try:
        volumes = BackupReader(location.store, name).volumes()
    except IncompleteBackupError:
        pass
    # Opened first: a missing or wrong password refuses the whole deletion before any change.
    repo_snapshots = [v["snapshotHandle"] for v in volumes
                      if v.get("method") in location_repository.REPOSITORY_METHODS and v.get("snapshotHandle")]
    repo = _repository(location, name, repo_password) if repo_snapshots else None
    methods = Methods(MethodContext(client, location.store, aws=aws or AwsSettings(),
                                    gce=gce or GceSettings(), azure=azure or AzureSettings()))
    # File-level snapshots go together below: forgetting them in one pass frees the data only they used.
    snapshots = sum(methods[r["method"]].delete_captured(r) for r in volumes
                    if is_registered(r.get("method")) and r.get("method") not in location_repository.REPOSITORY_METHODS)
    if repo is not None:
        snapshots += len(forget_snapshots(repo, repo_snapshots).forgotten)
    keys = [info.key for info in location.store.list(layout.prefix(name))]
    if not keys:
        raise NotFoundError(f"There is no backup named {name!r} on location {location.name!r}.",
                            hint="List backups with `salvage backup get`.")
    manifest = layout.manifest(name)
    for key in sorted(keys, key=lambda k: k != manifest):
        location.store.delete(key)
    return snapshots, len(keys)


def _repository(location: Location, name: str, password: str | None) -> Repository | None:
    if not password:
        raise UsageError(
            f"Backup {name!r} keeps volume files in location {location.name!r}'s repository; deleting them "
            "needs the repository password. Nothing was deleted.",
            hint="Set SALVAGE_REPO_PASSWORD, or pass --repo-password-file or --repo-password-secret.")
    try:
        return fs.repository(location.store, password, create=False)
    except RepositoryNotFoundError:
        return None  # already gone: nothing of it to delete
