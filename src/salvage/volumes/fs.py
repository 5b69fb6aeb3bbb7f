"""File-level volume capture: a volume's files go into the location's repository.

Used for volumes without snapshots, and whenever the data itself must leave the cluster's
storage (another region, another cloud). On a cluster the files are copied by a data-mover
pod (volumes/mover/): a pod on the volume's node that mounts the claim (read-only for a
backup) and runs ``salvage fs backup|restore`` against the same location, on the local
cluster's real node as on any other. The one exception: a volume on one of kwok's fake
nodes (no container runs there) is read where the hostpath driver keeps it, on this machine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.model.errors import SalvageError
from salvage.model.progress import Step, VolumeDigest
from salvage.repo import backup as repo_backup
from salvage.repo import restore_files as repo_restore
from salvage.repo.locks import remove_host_locks
from salvage.repo.digest import check_restored
from salvage.repo.preflight import check_restorable
from salvage.repo.repository import Repository
from salvage.repo.snapshots import find_snapshot
# Re-exported: callers from before the repository was shared with the postgresql method.
from salvage.volumes.location_repository import REPOSITORY_PREFIX as REPOSITORY_PREFIX
from salvage.volumes.location_repository import repository as repository
from salvage.volumes.location_repository import for_method, require_password
from salvage.volumes.method import JSON, ClaimSource, MethodContext, VolumeCaptureError, claim_record
from salvage.volumes.mover import manifests as mover_manifests
from salvage.volumes.mover.manifests import MoverJob
from salvage.volumes.mover.placement import Placement, place, volume_node
from salvage.volumes.mover.runner import MoverError, MoverRunner

METHOD = "fs"

METHOD_ANNOTATION = "backup.salvage.io/method"
HOSTPATH_DRIVER = "hostpath.salvage.io"


# ``snapshot-move-data``: a CSI snapshot whose files a mover copies into the repository
# (engines/snapshot_move.py), as --snapshot-move-data does for a whole backup.
SNAPSHOT_MOVE = "snapshot-move-data"
_CHOICES = ("fs", "snapshot", SNAPSHOT_MOVE)


def choose_method(claim: dict[str, Any], storage_class: dict[str, Any] | None, *, default_fs: bool) -> str:
    """``fs``, ``snapshot`` or ``snapshot-move-data``: the claim's annotation, else its
    class's, else the default."""
    for obj in (claim, storage_class or {}):
        value = (obj.get("metadata", {}).get("annotations") or {}).get(METHOD_ANNOTATION)
        if value in _CHOICES:
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


class FsMethod:
    """The ``fs`` volume method (:class:`salvage.volumes.method.VolumeMethod`): files into the
    location's repository, and back into the new, empty claim once it is bound."""

    name = METHOD
    check_reads_data = True  # the repository data the records need (repo/preflight.py)

    def __init__(self, context: MethodContext) -> None:
        self.context = context
        self._repository: Repository | None = None
        self._runner: MoverRunner | None = None
        self._lock = threading.Lock()  # volumes are captured in parallel

    def repository(self) -> Repository:
        with self._lock:
            if self._repository is None:
                self._repository = for_method(self.context, "File-level volumes")
            return self._repository

    def check_capture(self) -> None:
        require_password(self.context.repo_password)

    def runner(self) -> MoverRunner:
        """The data-mover pods' runner, one for this backup or restore."""
        with self._lock:
            if self._runner is None:
                if self.context.location is None:
                    raise VolumeCaptureError("File-level volumes on a cluster need the location, and none was given.")
                self._runner = MoverRunner(self.context.kube(), self.context.mover, self.context.location,
                                           require_password(self.context.repo_password), self.context.progress,
                                           on_swept=self._forget_locks)
            return self._runner

    def _placement(self, claim: JSON, pv: JSON) -> Placement:
        return place(self.context.kube(), claim, pv) if self.context.client else Placement(fake_node=True)

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        where = self._placement(claim, pv)
        repo = self.repository()  # made on first use, and the password proven, before any pod
        if where.fake_node:
            return capture(repo, claim, pv, backup)
        return self._capture_by_mover(claim["metadata"]["name"], where, claim, pv, backup, volume_node(pv))

    def capture_through(self, mounted: str, claim: JSON, pv: JSON, backup: str) -> VolumeRecord:
        """Capture ``claim``'s files by mounting claim ``mounted`` (in the same namespace: a
        temporary claim made from a fresh snapshot of it, which nothing else uses)."""
        self.repository()
        if self._placement(claim, pv).fake_node:
            record = claim_record(claim, pv)
            record.update(method="none", error="moving snapshot data needs a node that runs pods; "
                                               "this volume is on a kwok node")
            return record
        return self._capture_by_mover(mounted, Placement(), claim, pv, backup)

    def _capture_by_mover(self, mounted: str, where: Placement, claim: JSON, pv: JSON, backup: str,
                          pinned_to: str | None = None) -> VolumeRecord:
        meta = claim["metadata"]
        label = f"{meta['namespace']}/{meta['name']}"
        args = ("fs", "backup", mover_manifests.DATA_PATH, "--tag", f"backup={backup}", "--tag", f"pvc={label}",
                "--host", label)  # the parent of the next backup is this claim's latest
        result = self._move(MoverJob("backup", meta["namespace"], mounted, args, where.node, where.tolerations,
                                     volume_node=pinned_to))
        record = claim_record(claim, pv)
        record.update(method=METHOD, snapshotHandle=str(result["snapshot"]), restoreSize=int(result["total_bytes"]))
        if result.get("tree_digest"):
            record["treeDigest"] = str(result["tree_digest"])
        if result.get("error_count"):
            record.update(method="none", error=f"{result['error_count']} paths could not be read: "
                                               + "; ".join(result.get("errors", [])[:5]))
        return record

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        files = {str(r["snapshotHandle"]): f"volume {r.get('namespace')}/{r.get('pvc')}" for r in records}
        if not files:
            return
        verify = self.context.verify_data
        what = "reading every pack of" if verify else "checking"
        self.context.progress(Step(f"{what} the repository data of {len(files)} volume(s)"))
        check_restorable(self.repository(), files, read_data=verify, on_pack=self._pack_read)

    def _pack_read(self, number: int, total: int) -> None:
        if self.context.verify_data and (number == total or number % max(1, total // 10) == 0):  # ~10 lines at most
            self.context.progress(Step(f"verified {number} of {total} packs"))

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        return ClaimSource(restore_size=int(record.get("restoreSize") or 0), fill=lambda pv: self._fill(record, pv))

    def _fill(self, record: VolumeRecord, pv: JSON) -> list[str]:
        ref = pv["spec"].get("claimRef") or {}
        claim = {"metadata": {"namespace": ref.get("namespace"), "name": ref.get("name")}, "spec": {}}
        if ref and not self._placement(claim, pv).fake_node:
            return self._fill_by_mover(record, str(ref["namespace"]), str(ref["name"]), volume_node(pv))
        target = local_path(pv)
        if target is None:
            raise VolumeCaptureError(
                f"The new volume of {record.get('namespace')}/{record.get('pvc')} (PV {pv['metadata']['name']}) "
                "is not reachable from here to restore its files (needs a data-mover pod).",
                hint="Restore file-level backups onto the local cluster's hostpath driver for now.")
        filled = fill(self.repository(), record, target)
        if self._checks_digest(record):
            snapshot = find_snapshot(self.repository(), record["snapshotHandle"])
            self._digest_checked(record, check_restored(self.repository(), snapshot.tree, target,
                                                        str(record["treeDigest"])).to_json())
        if not filled.xattr_failures:
            return []
        return [f"volume {record.get('namespace')}/{record.get('pvc')}: "
                f"{repo_restore.xattr_summary(filled.xattr_failures, filled.xattr_failed_files)}: "
                + "; ".join(filled.xattrs_not_restored[:5])]

    def _fill_by_mover(self, record: VolumeRecord, namespace: str, claim: str,
                       pinned_to: str | None = None) -> list[str]:
        args: tuple[str, ...] = ("fs", "restore", str(record["snapshotHandle"]), "--target", mover_manifests.DATA_PATH)
        if self._checks_digest(record):
            args += ("--expect-digest", str(record["treeDigest"]))
        result = self._move(MoverJob("restore", namespace, claim, args, volume_node=pinned_to))
        if self._checks_digest(record):
            self._digest_checked(record, result.get("digest") or {})
        if not result.get("xattr_failures"):
            return []
        return [f"volume {record.get('namespace')}/{record.get('pvc')}: "
                f"{repo_restore.xattr_summary(int(result['xattr_failures']), int(result['xattr_failed_files']))}: "
                + "; ".join(result.get("xattrs_not_restored", [])[:5])]

    def _checks_digest(self, record: VolumeRecord) -> bool:
        return self.context.check_digests and bool(record.get("treeDigest"))

    def _digest_checked(self, record: VolumeRecord, outcome: JSON) -> None:
        """One ``volume-digest`` event per filled volume: its restored tree against the record."""
        self.context.progress(VolumeDigest.from_json(str(record.get("namespace")), str(record.get("pvc")),
                                                     str(record.get("treeDigest") or ""), outcome))

    def _move(self, job: MoverJob) -> JSON:
        try:
            return self.runner().run(job)
        except MoverError as exc:
            if exc.pod:  # the pod is gone: its repository locks would hold up prune until stale
                self._forget_locks([exc.pod])
            raise

    def _forget_locks(self, pods: list[str]) -> None:
        """Remove the repository locks of mover pods that are gone (each pod is its lock's host)."""
        for pod in pods:
            with contextlib.suppress(SalvageError):  # a ReadOnly location: it took none
                remove_host_locks(self.repository(), pod)

    def delete_captured(self, record: VolumeRecord) -> bool:
        # Backup deletion forgets a backup's repository snapshots together, with the password,
        # so that the data only they used goes in one pass (engines/deletion.py).
        return False

    def describe(self, record: VolumeRecord) -> str:
        return f"files from repository snapshot {str(record.get('snapshotHandle'))[:8]}"


def capture(repo: Repository, claim: dict[str, Any], pv: dict[str, Any], backup: str) -> VolumeRecord:
    meta = claim["metadata"]
    record = claim_record(claim, pv)
    path = local_path(pv)
    if path is None or not path.is_dir():
        record.update(method="none", error="the volume's files are not reachable from here; file-level backup "
                                           "of this volume needs a data-mover pod, which Salvage does not run yet")
        return record
    result = repo_backup.backup(repo, path, tags=[f"backup={backup}", f"pvc={meta['namespace']}/{meta['name']}"],
                                parent=None)
    record.update(method=METHOD, snapshotHandle=result.snapshot_id,
                  restoreSize=int(result.summary["total_bytes"]), treeDigest=result.tree_digest)
    return record


def fill(repo: Repository, record: VolumeRecord, target: Path) -> repo_restore.RestoreResult:
    """Restore a captured volume's files into ``target`` (the new, empty volume)."""
    snapshot = find_snapshot(repo, record["snapshotHandle"])
    return repo_restore.restore(repo, snapshot, target)
