"""Snapshots of streamed files: data that arrives as a byte stream (a database dump) rather
than from a directory, stored like any file (chunked, deduplicated, encrypted).

A :class:`StreamedSnapshot` holds the repository's shared lock while open; each
:meth:`~StreamedSnapshot.add` chunks one stream to its end and computes its SHA-256 on the
way, while a small pool compresses and encrypts the new chunks (the C libraries release the
GIL, so reading, chunking and sealing overlap; a bounded number of chunks is in flight). Nothing names the data until :meth:`~StreamedSnapshot.commit` writes the tree and
then the snapshot, so a stream that breaks halfway leaves only unreferenced packs (which a
later backup of the same bytes reuses, and ``prune`` removes otherwise), never a snapshot.
:func:`read_streamed` gives a stored file's bytes back in order.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from salvage import __version__
from salvage.model.errors import UsageError
from salvage.repo.backup import BackupResult
from salvage.repo.chunking import Chunker
from salvage.repo.locks import RepositoryLock
from salvage.repo.repository import Repository, RepoWriter
from salvage.repo.snapshots import SNAPSHOT_VERSION, Snapshot, SnapshotWire, SummaryWire
from salvage.repo.timestamps import utc_now
from salvage.repo.tree import NodeWire, decode_tree, encode_tree, get_text, set_text


@dataclass(frozen=True)
class StreamedFile:
    name: str
    size: int
    sha256: str


class StreamedSnapshot:
    """One snapshot whose files are added from streams; ``commit`` makes it exist."""

    def __init__(self, repo: Repository, *, path: str, tags: list[str] | None = None,
                 hostname: str | None = None) -> None:
        self.repo, self.path, self.tags = repo, path, sorted(set(tags or []))
        self.hostname = hostname or socket.gethostname()
        self._nodes: dict[str, NodeWire] = {}
        self._lock = RepositoryLock(repo, exclusive=False, operation="backup")
        self._writer: RepoWriter | None = None
        self._started = utc_now("microseconds")
        self._bytes = 0
        self._workers = max(2, os.cpu_count() or 2)
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(self._workers * 2)

    def __enter__(self) -> StreamedSnapshot:
        self.repo.refuse_if_read_only("back up a stream")
        self._lock.acquire()
        self._writer = self.repo.writer()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="salvage-stream")
        return self

    def __exit__(self, _type: object, failure: BaseException | None, _tb: object) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            if self._writer is not None:
                self._writer.close()
        except BaseException as exc:
            self._lock.release_after(failure or exc)
            raise
        self._lock.release_after(failure)

    def add(self, name: str, stream: Any) -> StreamedFile:
        """Store ``stream`` (anything with ``readinto`` or ``read``) to its end as file ``name``."""
        writer = self._require_writer()
        if not name or "/" in name or name in self._nodes:
            raise UsageError(f"Streamed file name {name!r} is empty, has a '/', or was added already.")
        digest = hashlib.sha256()
        content: list[str] = []
        size = 0
        chunker = Chunker(self.repo.config.chunker, self.repo.master.chunker_seed)
        stored: list[Future[bool]] = []
        for chunk in chunker.views(cast(BinaryIO, stream)):
            digest.update(chunk)
            blob_id = self.repo.master.id_of(chunk)
            if not writer.has(blob_id):  # a copy: the view is reused for the next chunk
                stored.append(self._store(writer, blob_id, bytes(chunk)))
            content.append(blob_id.hex())
            size += len(chunk)
            stored = _unfinished(stored)
        for future in stored:
            future.result()  # a failed seal or upload raises here
        now = time.time_ns()
        node: NodeWire = {"type": "file", "mode": 0o600, "uid": 0, "gid": 0, "mtime_ns": now, "ctime_ns": now,
                          "size": size, "content": content}
        set_text(node, "name", name)
        self._nodes[name] = node
        self._bytes += size
        return StreamedFile(name, size, digest.hexdigest())

    def _store(self, writer: RepoWriter, blob_id: bytes, data: bytes) -> Future[bool]:
        assert self._pool is not None
        self._slots.acquire()
        future = self._pool.submit(writer.add_blob, "data", blob_id, data)
        future.add_done_callback(lambda _done: self._slots.release())
        return future

    def add_bytes(self, name: str, data: bytes) -> StreamedFile:
        return self.add(name, io.BytesIO(data))

    def commit(self) -> BackupResult:
        """Write every pack, the tree and last the snapshot; returns its id."""
        writer = self._require_writer()
        tree = encode_tree([self._nodes[name] for name in sorted(self._nodes)])
        tree_id = self.repo.master.id_of(tree)
        writer.add_blob("tree", tree_id, tree)
        writer.flush()  # packs and index files first; the snapshot that needs them last
        now = time.time_ns()
        summary: SummaryWire = {
            "started": self._started, "finished": utc_now("microseconds"),
            "files_new": len(self._nodes), "files_changed": 0, "files_unmodified": 0, "dirs": 0,
            "bytes_processed": self._bytes, "bytes_added": writer.bytes_added, "blobs_added": writer.blobs_added,
            "total_files": len(self._nodes), "total_bytes": self._bytes, "errors": [], "error_count": 0,
        }
        wire: SnapshotWire = {
            "version": SNAPSHOT_VERSION, "time": self._started, "hostname": self.hostname,
            "username": getpass.getuser(), "paths": [self.path], "tags": self.tags, "parent": None,
            "tree": tree_id.hex(),
            "root": {"type": "dir", "mode": stat.S_IMODE(0o700), "uid": 0, "gid": 0, "mtime_ns": now, "ctime_ns": now},
            "program": f"salvage {__version__}", "summary": summary,
        }
        return BackupResult(self.repo.save_file("snapshots", wire), None, summary)

    def _require_writer(self) -> RepoWriter:
        if self._writer is None:
            raise RuntimeError("StreamedSnapshot is used outside its `with` block")
        return self._writer


def _unfinished(futures: list[Future[bool]]) -> list[Future[bool]]:
    """The futures still running; a finished one that failed raises its error now."""
    running = []
    for future in futures:
        if future.done():
            future.result()
        else:
            running.append(future)
    return running


def streamed_files(repo: Repository, snapshot: Snapshot) -> dict[str, NodeWire]:
    """The files at a snapshot's top level, by name."""
    return {get_text(n, "name"): n for n in decode_tree(repo.read_blob(snapshot.tree)) if n.get("type") == "file"}


def read_streamed(repo: Repository, node: NodeWire) -> Iterator[bytes]:
    """A stored file's bytes, chunk by chunk (each chunk is verified as it is read)."""
    for blob_id in node.get("content", []):
        yield repo.read_blob(bytes.fromhex(blob_id))
