"""File-level volume capture: a volume's files go into the location's repository.

Used for volumes without snapshots, and whenever the data itself must leave the cluster's
storage (another region, another cloud). On the local cluster the volume's directory is
read directly (the hostpath driver's PV says where it is). On a real cluster the same
engine runs inside a data-mover pod: a pod scheduled on the volume's node that mounts the
claim read-only and runs `salvage fs backup /data --repo ...` against the same location
(see docs/ARCHITECTURE.md, "Data mover").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salvage.catalog.records import VolumeRecord
from salvage.model.errors import UsageError
from salvage.repo import backup as repo_backup
from salvage.repo import restore as repo_restore
from salvage.repo.errors import RepositoryNotFoundError
from salvage.repo.repository import Repository
from salvage.repo.snapshots import find_snapshot
from salvage.storage.base import Store
from salvage.storage.prefixed import PrefixedStore

METHOD_ANNOTATION = "backup.salvage.io/method"
REPOSITORY_PREFIX = "repository"
HOSTPATH_DRIVER = "hostpath.salvage.io"


def choose_method(claim: dict[str, Any], storage_class: dict[str, Any] | None, *, default_fs: bool) -> str:
    """``fs`` or ``snapshot``: the claim's annotation, else its class's, else the default."""
    for obj in (claim, storage_class or {}):
        value = (obj.get("metadata", {}).get("annotations") or {}).get(METHOD_ANNOTATION)
        if value in ("fs", "snapshot"):
            return str(value)
    return "fs" if default_fs else "snapshot"


def local_path(pv: dict[str, Any]) -> Path | None:
    """Where a volume's files are on this machine, when they are reachable directly."""
    spec = pv.get("spec", {})
    csi = spec.get("csi") or {}
    if csi.get("driver") == HOSTPATH_DRIVER and csi.get("volumeAttributes", {}).get("path"):
        return Path(csi["volumeAttributes"]["path"])
    for kind in ("hostPath", "local"):
        if spec.get(kind, {}).get("path"):
            return Path(spec[kind]["path"])
    return None


def repository(location_store: Store, password: str | None, *, create: bool, read_only: bool = False) -> Repository:
    """The location's repository (created on first use when ``create``)."""
    if not password:
        raise UsageError(
            "File-level volume backup needs the repository password.",
            hint="Set SALVAGE_REPO_PASSWORD, or pass --repo-password-file or --repo-password-secret; "
                 "Salvage has no default password.")
    store = PrefixedStore(location_store, REPOSITORY_PREFIX)
    try:
        return Repository.open(store, password, read_only=read_only)
    except RepositoryNotFoundError:
        if not create:
            raise
        return Repository.init(store, password)


def capture(repo: Repository, claim: dict[str, Any], pv: dict[str, Any], backup: str) -> VolumeRecord:
    meta = claim["metadata"]
    record: VolumeRecord = {
        "namespace": meta["namespace"], "pvc": meta["name"], "pv": pv["metadata"]["name"],
        "storageClass": claim["spec"].get("storageClassName"),
        "size": claim["spec"].get("resources", {}).get("requests", {}).get("storage", ""),
    }
    path = local_path(pv)
    if path is None or not path.is_dir():
        record.update(method="none", error="the volume's files are not reachable from here; file-level backup "
                                           "of this volume needs a data-mover pod, which Salvage does not run yet")
        return record
    result = repo_backup.backup(repo, path, tags=[f"backup={backup}", f"pvc={meta['namespace']}/{meta['name']}"],
                                parent=None)
    record.update(method="fs", snapshotHandle=result.snapshot_id,
                  restoreSize=int(result.summary["total_bytes"]))
    return record


def fill(repo: Repository, record: VolumeRecord, target: Path) -> repo_restore.RestoreResult:
    """Restore a captured volume's files into ``target`` (the new, empty volume)."""
    snapshot = find_snapshot(repo, record["snapshotHandle"])
    return repo_restore.restore(repo, snapshot, target)
