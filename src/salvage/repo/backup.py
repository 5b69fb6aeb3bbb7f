"""Backup of a directory tree into a snapshot.

The walk is depth-first in the calling thread, one directory listing at a time. Files
under 64 KiB are processed right there; larger ones go to a pool of file workers, which
read, chunk and hash, and hand each new chunk to a pool of blob workers, which compress
and encrypt (the C libraries release the GIL, so both cores work even on one huge file).
Semaphores bound the files and chunks in flight, so memory is about
``workers × (2 files' chunk buffers + 2 chunks) + 3 packs`` plus the listings of the
directories on the current path and the index — never proportional to the number of
files.

Unchanged files (same type, size, mtime, ctime and inode as in the parent snapshot)
reuse the parent's chunk list without being read.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from salvage import __version__
from salvage.model.errors import UsageError
from salvage.repo.chunking import Chunker
from salvage.repo.digest import directory_digest
from salvage.repo.locks import RepositoryLock
from salvage.repo.progress import Progress
from salvage.repo.repository import Repository, RepoWriter
from salvage.repo.snapshots import (
    SNAPSHOT_VERSION,
    Snapshot,
    SnapshotWire,
    SummaryWire,
    find_snapshot,
    list_snapshots,
)
from salvage.repo.timestamps import utc_now
from salvage.repo.tree import (
    NodeWire,
    decode_tree,
    encode_tree,
    get_text,
    node_from_stat,
    set_text,
)
from salvage.repo.xattrs import read_xattrs

# Keep the first errors verbatim in the snapshot; count the rest.
_MAX_RECORDED_ERRORS = 100
# Files smaller than this are processed in the walking thread: for them a pool hand-off
# costs more than the work, and the GIL makes it serial anyway (measured: -30% CPU on
# 100k small files). Larger files go to the pool, where the C libraries run in parallel.
_INLINE_BELOW = 64 * 1024


@dataclass(frozen=True)
class BackupResult:
    snapshot_id: str
    parent_id: str | None
    summary: SummaryWire
    # The tree digest of what was stored (repo/digest.py), "" when unknown (streamed snapshots).
    tree_digest: str = ""


@dataclass
class _Counters:
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    dirs: int = 0
    bytes_processed: int = 0
    total_files: int = 0
    total_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


def backup(
    repo: Repository,
    path: Path,
    *,
    tags: list[str] | None = None,
    parent: str | None = "auto",
    progress: Progress | None = None,
    workers: int | None = None,
    hostname: str | None = None,
) -> BackupResult:
    """Back up ``path`` (a directory); ``parent`` is a snapshot id, "auto" or None for none."""
    root = path.absolute()
    try:
        root_stat = os.stat(root)
    except OSError as exc:
        raise UsageError(f"cannot back up {root}: {exc.strerror}", hint="Check the path exists and is readable.") from exc
    if not stat.S_ISDIR(root_stat.st_mode):
        raise UsageError(f"{root} is not a directory", hint="Back up the directory that holds it.")
    hostname = hostname or socket.gethostname()
    started = _now()
    with RepositoryLock(repo, exclusive=False, operation="backup"):
        parent_snapshot = _find_parent(repo, parent, hostname, str(root))
        progress = progress or Progress()
        scanner = _Scanner(root, progress)
        scanner.start()
        writer = repo.writer()
        counters = _Counters()
        workers = workers or max(2, os.cpu_count() or 2)
        try:
            with (
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salvage-file") as pool,
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salvage-blob") as blob_pool,
            ):
                archiver = _Archiver(repo, writer, pool, blob_pool, workers, counters, progress)
                tree_id = archiver.directory(str(root), parent_snapshot.tree if parent_snapshot else None)
                root_node = node_from_stat("", root_stat)
                del root_node["name"]
                archiver.add_xattrs(str(root), root_node)
            # Packs and index files first; the snapshot that needs them last.
            writer.flush()
        finally:
            writer.close()
            scanner.stop()
        summary: SummaryWire = {
            "started": started,
            "finished": _now(),
            "files_new": counters.files_new,
            "files_changed": counters.files_changed,
            "files_unmodified": counters.files_unmodified,
            "dirs": counters.dirs,
            "bytes_processed": counters.bytes_processed,
            "bytes_added": writer.bytes_added,
            "blobs_added": writer.blobs_added,
            "total_files": counters.total_files,
            "total_bytes": counters.total_bytes,
            "errors": counters.errors,
            "error_count": counters.error_count,
        }
        wire: SnapshotWire = {
            "version": SNAPSHOT_VERSION,
            "time": started,
            "hostname": hostname,
            "username": getpass.getuser(),
            "paths": [str(root)],
            "tags": sorted(set(tags or [])),
            "parent": parent_snapshot.id if parent_snapshot else None,
            "tree": tree_id.hex(),
            "root": root_node,
            "program": f"salvage {__version__}",
            "summary": summary,
        }
        snapshot_id = repo.save_file("snapshots", wire)
        progress.finished = True
    return BackupResult(snapshot_id, wire["parent"], summary, archiver.digests[tree_id])


def _find_parent(repo: Repository, parent: str | None, hostname: str, path: str) -> Snapshot | None:
    if parent is None:
        return None
    if parent != "auto":
        return find_snapshot(repo, parent)
    candidates = [s for s in list_snapshots(repo) if s.wire["hostname"] == hostname and s.wire["paths"] == [path]]
    return candidates[-1] if candidates else None


class _Archiver:
    def __init__(
        self,
        repo: Repository,
        writer: RepoWriter,
        pool: ThreadPoolExecutor,
        blob_pool: ThreadPoolExecutor,
        workers: int,
        counters: _Counters,
        progress: Progress,
    ) -> None:
        self.repo = repo
        self.writer = writer
        self.pool = pool
        # A second pool compresses and encrypts the chunks of large files, so even a single
        # huge file keeps every core busy; its slots bound the chunks held in memory.
        self.blob_pool = blob_pool
        self.blob_slots = threading.BoundedSemaphore(workers * 2)
        self.chunker = Chunker(repo.config.chunker, repo.master.chunker_seed)
        self.slots = threading.BoundedSemaphore(workers * 2)
        self.counters = counters
        self.progress = progress
        self._lock = threading.Lock()
        self.digests: dict[bytes, str] = {}  # tree id -> its tree digest

    def warn(self, message: str) -> None:
        with self._lock:
            self.counters.error_count += 1
            if len(self.counters.errors) < _MAX_RECORDED_ERRORS:
                self.counters.errors.append(message)

    def directory(self, path: str, parent_tree: bytes | None) -> bytes:
        """Store the tree of ``path`` (recursively) and return its id."""
        names = sorted(os.listdir(path))
        previous = self._parent_nodes(parent_tree)
        entries: list[NodeWire | None | Future[NodeWire | None]] = []
        for name in names:
            full = os.path.join(path, name)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                self.warn(f"{full}: vanished during backup")
                continue
            except OSError as exc:
                self.warn(f"{full}: {exc.strerror}")
                continue
            node = node_from_stat(name, st)
            self.add_xattrs(full, node)
            old = previous.get(name)
            kind = node["type"]
            if kind == "dir":
                old_tree = bytes.fromhex(old["subtree"]) if old and old.get("type") == "dir" else None
                try:
                    node["subtree"] = self.directory(full, old_tree).hex()
                except FileNotFoundError:
                    self.warn(f"{full}: vanished during backup")
                    continue
                except (PermissionError, NotADirectoryError) as exc:
                    self.warn(f"{full}: {exc.strerror}")
                    continue
                with self._lock:
                    self.counters.dirs += 1
                entries.append(node)
            elif kind == "file":
                self._count_total(node)
                if old is not None and _unchanged(old, node):
                    node["content"], node["sha256"] = old["content"], old["sha256"]
                    self._file_done(node, "files_unmodified", 0)
                    entries.append(node)
                else:
                    if node["size"] < _INLINE_BELOW:
                        entries.append(self._file(full, node, old is not None))
                    else:
                        self.slots.acquire()
                        entries.append(self.pool.submit(self._pooled_file, full, node, old is not None))
            elif kind == "symlink":
                try:
                    set_text(node, "link_target", os.readlink(full))
                except OSError as exc:
                    self.warn(f"{full}: {exc.strerror}")
                    continue
                entries.append(node)
            elif kind == "socket":
                continue  # a socket is a live endpoint, not data; restoring one makes no sense
            else:
                entries.append(node)
        nodes: list[NodeWire | None] = [e.result() if isinstance(e, Future) else e for e in entries]
        stored = [n for n in nodes if n is not None]
        data = encode_tree(stored)
        tree_id = self.repo.master.id_of(data)
        self.writer.add_blob("tree", tree_id, data)
        self.digests[tree_id] = directory_digest(stored, lambda n: self.digests[bytes.fromhex(n["subtree"])])
        return tree_id

    def add_xattrs(self, full: str, node: NodeWire) -> None:
        try:
            values, left_out = read_xattrs(full)
        except FileNotFoundError:
            return  # vanished: reading or listing it next says so
        except OSError as exc:
            self.warn(f"{full}: cannot read its extended attributes: {exc.strerror}")
            return
        if values:
            node["xattrs"] = values
        for name in left_out:
            self.warn(f"{full}: extended attribute {name!r} is not valid UTF-8; it was not stored")

    def _parent_nodes(self, parent_tree: bytes | None) -> dict[str, NodeWire]:
        if parent_tree is None:
            return {}
        return {get_text(n, "name"): n for n in decode_tree(self.repo.read_blob(parent_tree))}

    def _count_total(self, node: NodeWire) -> None:
        with self._lock:
            self.counters.total_files += 1
            self.counters.total_bytes += node["size"]

    def _file_done(self, node: NodeWire, outcome: str, read: int) -> None:
        with self._lock:
            setattr(self.counters, outcome, getattr(self.counters, outcome) + 1)
            self.counters.bytes_processed += read
        self.progress.files_done += 1
        if outcome == "files_unmodified":
            self.progress.bytes_done += node["size"]

    def _file(self, full: str, node: NodeWire, changed: bool, *, parallel: bool = False) -> NodeWire | None:
        stored: list[Future[bool]] = []
        try:
            content: list[str] = []
            size = 0
            whole = hashlib.sha256()  # of the bytes stored: the file's line in its tree digest
            with open(full, "rb") as handle:
                # Small files are read whole: the stream chunker's 2 × max-size buffer per
                # file would cost more than the file. Views avoid copying chunks; add_blob
                # consumes each before the next is cut.
                limit = self.chunker.max_size
                chunks: Iterator[memoryview]
                stable = False  # whether a chunk view stays valid after the next one is cut
                if node["size"] <= limit:
                    data = handle.read(limit + 1)
                    if len(data) <= limit:
                        chunks, stable = self.chunker.cut(data), True
                    else:  # it grew while we looked: stream it after all
                        handle.seek(0)
                        chunks = self.chunker.views(handle)
                else:
                    chunks = self.chunker.views(handle)
                for chunk in chunks:
                    blob_id = self.repo.master.id_of(chunk)
                    if not parallel:
                        self.writer.add_blob("data", blob_id, chunk)
                    elif not self.writer.has(blob_id):
                        stored.append(self._store_later(blob_id, chunk if stable else bytes(chunk)))
                    content.append(blob_id.hex())
                    whole.update(chunk)
                    size += len(chunk)
                    self.progress.bytes_done += len(chunk)
            for future in stored:
                future.result()
            if size != node["size"]:
                self.warn(f"{full}: changed size while being read ({node['size']} → {size} bytes); stored what was read")
                node["size"] = size
            node["content"], node["sha256"] = content, whole.hexdigest()
            self._file_done(node, "files_changed" if changed else "files_new", size)
            return node
        except FileNotFoundError:
            self.warn(f"{full}: vanished during backup")
            return None
        except OSError as exc:
            self.warn(f"{full}: {exc.strerror or exc}")
            return None

    def _pooled_file(self, full: str, node: NodeWire, changed: bool) -> NodeWire | None:
        try:
            return self._file(full, node, changed, parallel=True)
        finally:
            self.slots.release()

    def _store_later(self, blob_id: bytes, data: bytes | memoryview) -> Future[bool]:
        self.blob_slots.acquire()
        future = self.blob_pool.submit(self.writer.add_blob, "data", blob_id, data)
        future.add_done_callback(lambda _done: self.blob_slots.release())
        return future


def _unchanged(old: NodeWire, new: NodeWire) -> bool:
    return (
        old.get("type") == "file"
        and "content" in old
        and "sha256" in old  # trees of older backups: read once more, for the digest
        and old.get("size") == new["size"]
        and old.get("mtime_ns") == new["mtime_ns"]
        and old.get("ctime_ns") == new["ctime_ns"]
        and old.get("inode") == new["inode"]
    )


class _Scanner:
    """Counts files and bytes ahead of the backup so progress can show an ETA."""

    def __init__(self, root: Path, progress: Progress) -> None:
        self.root = root
        self.progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="salvage-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        files = size = 0
        for dirpath, _dirs, filenames in os.walk(self.root):
            for name in filenames:
                if self._stop.is_set():
                    return
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    files += 1
                    size += st.st_size
        self.progress.files_total, self.progress.bytes_total = files, size


def _now() -> str:
    return utc_now("microseconds")
