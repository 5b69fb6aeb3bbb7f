"""Reach the data of a claim on the local cluster: its hostpath volume directory."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from salvage.devcluster.local_cluster import shared_snapshot_root
from salvage.k8s.client import KubeClient
from tests.support.waiting import wait_for

SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"


def claim_path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    return f"{base}/{name}" if name else base


def snapshot_path(namespace: str, name: str = "") -> str:
    base = f"{SNAPSHOTS}/namespaces/{namespace}/volumesnapshots"
    return f"{base}/{name}" if name else base


def wait_bound(kube: KubeClient, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
    def bound() -> dict[str, Any]:
        claim = kube.get(claim_path(namespace, name))
        return claim if (claim.get("status") or {}).get("phase") == "Bound" else {}

    return wait_for(bound, timeout=timeout, what=f"PVC {namespace}/{name} Bound")


def volume_dir(kube: KubeClient, namespace: str, name: str) -> Path:
    """The directory holding the files of PVC ``name`` (waits until it is bound)."""
    claim = wait_bound(kube, namespace, name)
    pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
    return Path(pv["spec"]["csi"]["volumeAttributes"]["path"])


def wait_ready(kube: KubeClient, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
    def ready() -> dict[str, Any]:
        snapshot = kube.get(snapshot_path(namespace, name))
        return snapshot if (snapshot.get("status") or {}).get("readyToUse") else {}

    return wait_for(ready, timeout=timeout, what=f"VolumeSnapshot {namespace}/{name} ready")


def snapshot_dir(kube: KubeClient, namespace: str, name: str) -> Path:
    """Where the hostpath driver keeps the copy behind a ready VolumeSnapshot (the snapshot
    store shared by the local clusters)."""
    snapshot = wait_ready(kube, namespace, name)
    content = kube.get(f"{SNAPSHOTS}/volumesnapshotcontents/{snapshot['status']['boundVolumeSnapshotContentName']}")
    return shared_snapshot_root() / str(content["status"]["snapshotHandle"])


def tree_digest(root: Path) -> str:
    """One hash over every path, mode and file content under ``root``."""
    digest = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode())
            digest.update(oct(path.stat().st_mode).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def full_tree_digest(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root`` (not ``root`` itself, nor the top-level names in ``skip``)
    by relative path: type, mode, owner, modification time (ns), extended attributes, and
    a symlink's target or a file's content digest and data segments (holes are where
    there are none). Compare two with ``==`` to see a difference by path."""
    entries: dict[str, tuple[object, ...]] = {}
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == root:
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            st = path.lstat()
            xattrs = tuple(sorted((k, os.getxattr(path, k, follow_symlinks=False))
                                  for k in os.listxattr(path, follow_symlinks=False)))
            common = (stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, xattrs)
            if stat.S_ISLNK(st.st_mode):
                entries[str(path.relative_to(root))] = (*common, os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                entries[str(path.relative_to(root))] = (*common, st.st_mtime_ns, _content(path), _segments(path))
            else:
                entries[str(path.relative_to(root))] = (*common, st.st_mtime_ns)
    return entries


def _content(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _segments(path: Path) -> tuple[tuple[int, int], ...]:
    """The file's data segments (offset, end): what is not a hole."""
    segments, offset = [], 0
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole from here to the end
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            segments.append((start, end))
            offset = end
    finally:
        os.close(fd)
    return tuple(segments)
