"""Restore a snapshot (or some paths of it) into a directory.

Files are written unnamed (or under a temporary name) and put in place only when
complete, so an interrupted or failed restore never leaves a truncated file under a real
name; their contents are written by worker threads (restore_writer.py). Files
whose data is in a missing pack are refused up front; files whose data turns out to be
corrupt are refused when read; both are listed at the end. All-zero 4 KiB blocks become holes,
so sparse files stay sparse. Directory metadata is applied last (deepest first), since
writing into a directory changes its times.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from salvage.model.errors import UsageError
from salvage.repo.errors import (
    CorruptDataError,
    RestoreIncompleteError,
    TargetFullError,
)
from salvage.repo.locks import RepositoryLock
from salvage.repo.progress import Progress
from salvage.repo.repository import Repository
from salvage.repo.restore_writer import FileWriter
from salvage.repo.snapshots import Snapshot
from salvage.repo.tree import NodeWire, decode_tree, get_text
from salvage.repo.xattrs import apply_xattrs

_MAX_LISTED = 20


@dataclass(frozen=True)
class RestoreResult:
    files: int
    bytes: int
    refused: list[str]
    # Extended attributes that could not be set (the data was restored): the first
    # _MAX_LISTED files as "path: name (reason), ...", and the totals.
    xattrs_not_restored: list[str] = field(default_factory=list)
    xattr_failures: int = 0
    xattr_failed_files: int = 0


@dataclass
class _State:
    files: int = 0
    bytes: int = 0
    refused: list[str] = field(default_factory=list)
    full: TargetFullError | None = None
    dirs: list[tuple[Path, NodeWire]] = field(default_factory=list)
    hardlinks: list[tuple[Path, Path]] = field(default_factory=list)
    first_link: dict[tuple[int, int], Path] = field(default_factory=dict)
    xattrs_not_restored: list[str] = field(default_factory=list)
    xattr_failures: int = 0
    xattr_failed_files: int = 0


def restore(
    repo: Repository,
    snapshot: Snapshot,
    target: Path,
    *,
    include: list[str] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> RestoreResult:
    target = target.absolute()
    progress = progress or Progress()
    with RepositoryLock(repo, exclusive=False, operation="restore"):
        present = set(repo.pack_sizes())
        restorer = _Restorer(repo, present, progress, workers or _default_workers())
        target.mkdir(parents=True, exist_ok=True)
        if not include:
            progress.files_total = snapshot.wire["summary"]["total_files"]
            progress.bytes_total = snapshot.wire["summary"]["total_bytes"]
            restorer.run([(snapshot.tree, target, "")], root=(target, snapshot.wire["root"]))
        else:
            restorer.run([_locate(repo, snapshot, path, target) for path in include], root=None)
        progress.finished = True
    state = restorer.state
    if state.full is not None:
        raise state.full
    if state.refused:
        shown = "\n  ".join(state.refused[:_MAX_LISTED])
        more = f"\n  ... and {len(state.refused) - _MAX_LISTED} more" if len(state.refused) > _MAX_LISTED else ""
        also = f"\n{xattr_summary(state.xattr_failures, state.xattr_failed_files)}" if state.xattr_failures else ""
        raise RestoreIncompleteError(
            f"restored {state.files} files, but refused {len(state.refused)} whose data is damaged or missing:"
            f"\n  {shown}{more}{also}",
            hint="Run `salvage repo check --read-data` to see the damage; restore them from another snapshot.",
        )
    return RestoreResult(state.files, state.bytes, [], state.xattrs_not_restored, state.xattr_failures,
                         state.xattr_failed_files)


def _default_workers() -> int:
    """One per core, at least 2 (writes wait on the disk), at most 8: each running batch
    holds a buffer of up to 32 MiB, and a disk is saturated well before that."""
    return min(8, max(2, os.cpu_count() or 2))


def xattr_summary(failures: int, files: int) -> str:
    """One line for a restore's summary: how many extended attributes were not restored."""
    return (f"{failures} extended attribute{'s' if failures != 1 else ''} on {files} "
            f"file{'s' if files != 1 else ''} could not be restored (the data was)")


def _locate(repo: Repository, snapshot: Snapshot, include: str, target: Path) -> tuple[bytes | NodeWire, Path, str]:
    """The node an include path names, and where it goes under the target."""
    parts = [p for p in PurePosixPath(include).parts if p not in ("/", ".")]
    if not parts or ".." in parts:
        raise UsageError(f"bad --include path {include!r}", hint="Give a path relative to the snapshot root, like data/db.")
    tree: bytes = snapshot.tree
    node: NodeWire | None = None
    for depth, part in enumerate(parts):
        nodes = {get_text(n, "name"): n for n in decode_tree(repo.read_blob(tree))}
        node = nodes.get(part)
        if node is None:
            raise UsageError(
                f"{include!r} is not in snapshot {snapshot.short_id}",
                hint="Paths are relative to the directory that was backed up.",
            )
        if depth < len(parts) - 1:
            if node["type"] != "dir":
                raise UsageError(f"{'/'.join(parts[: depth + 1])} in snapshot {snapshot.short_id} is not a directory")
            tree = bytes.fromhex(node["subtree"])
    assert node is not None
    return node, target.joinpath(*parts[:-1]), "/".join(parts[:-1])


class _Restorer:
    def __init__(self, repo: Repository, present_packs: set[str], progress: Progress, workers: int) -> None:
        self.repo = repo
        self.present = present_packs
        self.progress = progress
        self.workers = workers
        self.state = _State()
        self._lock = threading.Lock()
        self._files: FileWriter | None = None

    def run(self, starts: list[tuple[bytes | NodeWire, Path, str]], root: tuple[Path, NodeWire] | None) -> None:
        with FileWriter(self.repo, self.present, self.progress, self, self.workers) as files:
            self._files = files
            for start, dest, rel in starts:
                dest.mkdir(parents=True, exist_ok=True)
                if isinstance(start, bytes):
                    self._directory(start, dest, rel)
                else:
                    self._node(start, dest, rel)
        # Every file is in place: now links to them, then directory metadata, deepest first.
        for source, link in self.state.hardlinks:
            if source.exists():
                _replace_with(link, lambda p, source=source: os.link(source, p))
            else:
                self._refuse(f"{link}: a hard link to {source}, which was refused")
        if root is not None:
            self.state.dirs.append(root)
        for path, node in reversed(self.state.dirs):
            self._metadata(path, node, path)

    def _directory(self, tree_id: bytes, dest: Path, rel: str) -> None:
        for node in decode_tree(self.repo.read_blob(tree_id)):
            if self.state.full is not None:
                return
            self._node(node, dest, rel)

    def _node(self, node: NodeWire, dest: Path, rel: str) -> None:
        name = get_text(node, "name")
        if name in ("", ".", "..") or "/" in name:
            raise CorruptDataError(f"snapshot names an unsafe path {rel}/{name!r}; refusing to restore it")
        path = dest / name
        here = f"{rel}/{name}" if rel else name
        kind = node["type"]
        if kind == "dir":
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()
            path.mkdir(exist_ok=True)
            self._directory(bytes.fromhex(node["subtree"]), path, here)
            self.state.dirs.append((path, node))
        elif kind == "file":
            self._file(node, path, here)
        elif kind == "symlink":
            target = get_text(node, "link_target")
            _replace_with(path, lambda p: os.symlink(target, p))
            self._metadata(path, node, path)
        elif kind == "fifo":
            _replace_with(path, lambda p: os.mkfifo(p, node["mode"]))
            self._metadata(path, node, path)
        elif kind in ("chardev", "blockdev"):
            import stat

            flag = stat.S_IFCHR if kind == "chardev" else stat.S_IFBLK
            try:
                _replace_with(path, lambda p: os.mknod(p, flag | node["mode"], node["rdev"]))
                self._metadata(path, node, path)
            except PermissionError:
                self._refuse(f"{here}: creating a device node needs root")

    def _file(self, node: NodeWire, path: Path, here: str) -> None:
        if node.get("links", 1) > 1:
            key = (node["device_id"], node["inode"])
            first = self.state.first_link.get(key)
            if first is not None:
                self.state.hardlinks.append((first, path))
                self._done(node)
                return
            self.state.first_link[key] = path
        assert self._files is not None
        self._files.add(node, path, here)

    def _done(self, node: NodeWire) -> None:
        with self._lock:
            self.state.files += 1
            self.state.bytes += node.get("size", 0)
        self.progress.files_done += 1

    def _metadata(self, target: Path | int, node: NodeWire, path: Path) -> None:
        """Apply ``node``'s metadata to ``target`` (``path``, or its open descriptor); note
        the extended attributes that could not be set."""
        failed = _apply_metadata(target, node)
        if failed:
            with self._lock:
                self.state.xattr_failures += len(failed)
                self.state.xattr_failed_files += 1
                if len(self.state.xattrs_not_restored) < _MAX_LISTED:
                    self.state.xattrs_not_restored.append(f"{path}: {', '.join(failed)}")

    def _refuse(self, message: str) -> None:
        with self._lock:
            self.state.refused.append(message)

    # --- what restore_writer.FileWriter reports (its RestoreSink) ------------------------

    def stopping(self) -> bool:
        return self.state.full is not None

    def restored(self, node: NodeWire) -> None:
        self._done(node)

    def refused(self, message: str) -> None:
        self._refuse(message)

    def target_full(self, here: str) -> None:
        with self._lock:
            if self.state.full is None:
                self.state.full = TargetFullError(
                    f"the restore target is full (while writing {here}); {self.state.files} files were restored completely",
                    hint="Free space on the target (or restore to a larger volume) and run the restore again; "
                    "complete files are rewritten, no partial file was left behind.",
                )

    def apply_metadata(self, descriptor: int, node: NodeWire, path: str) -> None:
        self._metadata(descriptor, node, Path(path))


def _replace_with(path: Path, create: object) -> None:
    """Create ``path`` by ``create(path)``, replacing a file or link already there."""
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(path))
        path.unlink()
    create(path)  # type: ignore[operator]


def _apply_metadata(path: Path | int, node: NodeWire) -> list[str]:
    """Owner, extended attributes, mode and times of ``path`` (or of an open descriptor);
    returns the attributes that could not be set, with the reason."""
    link = node["type"] == "symlink"
    if os.geteuid() == 0:
        try:
            os.chown(path, node["uid"], node["gid"], follow_symlinks=not link)
        except OSError:
            pass  # e.g. an id the target filesystem cannot represent; data matters more
    # After chown, which clears security.capability; before chmod, which may take away the
    # write permission an unprivileged user needs to set user.* attributes. chmod then also
    # re-aligns an ACL's mask with the group bits, as they were.
    failed = apply_xattrs(path if isinstance(path, int) else str(path), node.get("xattrs", {}), symlink=link)
    if not link:
        os.chmod(path, node["mode"])
    # Trees store no atime (it would churn them); old trees that have one get it back.
    mtime = node["mtime_ns"]
    os.utime(path, ns=(node.get("atime_ns", mtime), mtime), follow_symlinks=not link)
    return failed

