"""The data path of restore: filling regular files with their contents from the packs.

The tree walk (restore.py) hands each file to a :class:`FileWriter`, which groups files
into batches of about ``_BATCH_STORED`` bytes of stored data (many small files share a
batch, a large file is split over several) and runs the batches in worker threads. A
batch reads each pack it needs once per run of neighbouring blobs (sorted by offset,
small gaps read through), decrypts, decompresses and checks each blob once, and writes
it at its place in the file with ``pwrite``, leaving all-zero 4 KiB blocks as holes.
Decompression, hashing and writes run outside the GIL (decryption holds it, briefly), so
the workers keep every core busy; at most ``2 * workers`` batches exist at once, so memory stays bounded
whatever the number and size of the files.

The walk creates each file (one thread creating files in walk order while the workers
fill the ones before) as an unnamed file in its directory (``O_TMPFILE``), or where the
filesystem cannot, under a temporary name. Whichever batch finishes with it last applies
its metadata and links (or renames) it into place, or drops it when one of its blobs was
damaged or missing (the walk is told, and lists it at the end). So an interrupted or
failed restore never leaves a truncated file under a real name. Memory and open
descriptors are bounded by the batches in flight.
"""

from __future__ import annotations

import errno
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Protocol, Self

from salvage.repo.errors import CorruptDataError, MissingDataError
from salvage.repo.progress import Progress
from salvage.repo.repository import Repository
from salvage.repo.tree import NodeWire

TEMP_SUFFIX = ".salvage-restore"
# Stored bytes per batch: large enough that a batch is a few big reads, small enough that
# a large file spreads over both cores and memory stays a few batches' worth.
_BATCH_STORED = 8 * 1024 * 1024
# Plaintext bytes per batch: deduplicated chunks (a file of zeros) cost work, not reads.
_BATCH_RAW = 64 * 1024 * 1024
# Files per batch: each holds a descriptor from the walk until its last batch is done.
_BATCH_FILES = 64
# Blobs this close together in a pack are read in one request, gap included.
_READ_THROUGH = 256 * 1024
_HOLE_BLOCK = 4096
# O_NOFOLLOW: a symlink planted at the temporary name must not redirect our writes.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
_UNNAMED = getattr(os, "O_TMPFILE", 0)  # Linux only
# What open(O_TMPFILE) fails with where the filesystem (or kernel) cannot do it.
_NO_UNNAMED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
_ZERO_BLOCK = bytes(_HOLE_BLOCK)
# A file's error when it was dropped because the restore stopped, not because of damage.
_STOPPED = ""


class RestoreSink(Protocol):
    """What the tree walk learns about each file, and the metadata it applies."""

    def stopping(self) -> bool: ...
    def restored(self, node: NodeWire) -> None: ...
    def refused(self, message: str) -> None: ...
    def target_full(self, here: str) -> None: ...
    def apply_metadata(self, descriptor: int, node: NodeWire, path: str) -> None: ...


@dataclass(eq=False)
class _File:
    node: NodeWire
    path: str
    temp: str
    here: str
    # The batches (plus the planner, until it has planned them all) still to finish with it.
    users: int = 1
    descriptor: int = -1
    unnamed: bool = False  # an O_TMPFILE file, linked into place when complete
    holes: bool = False
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Piece(NamedTuple):
    """One blob of one file: where it is stored, and where it goes."""

    pack_id: str
    offset: int
    length: int
    blob_id: bytes
    raw_length: int
    file_offset: int
    file: _File


@dataclass(eq=False)
class _Batch:
    files: list[_File] = field(default_factory=list)
    pieces: list[_Piece] = field(default_factory=list)
    stored: int = 0
    raw: int = 0


class FileWriter:
    """Writes files' contents in worker threads; use as a context manager (exit waits)."""

    def __init__(self, repo: Repository, present_packs: set[str], progress: Progress, sink: RestoreSink, workers: int) -> None:
        self._repo = repo
        self._present = present_packs
        self._progress = progress
        self._sink = sink
        self._batch = _Batch()
        self._slots = threading.BoundedSemaphore(2 * workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salvage-restore")
        self._failure: BaseException | None = None
        # Unnamed files leave nothing behind when interrupted. Linking one needs /proc.
        self._open_files = -1
        if _UNNAMED:
            try:
                self._open_files = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                pass
        self._unnamed = self._open_files >= 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self._submit()
        self._pool.shutdown(wait=True)
        if self._open_files >= 0:
            os.close(self._open_files)
        if kind is not None:
            # The walk failed: files the unsubmitted batch would have finished are dropped
            # (their temporary files removed), as if the restore had stopped.
            _fail_all(self._batch.files, _STOPPED)
            for file in self._batch.files:
                self._release(file)
        elif self._failure is not None:
            raise self._failure

    def add(self, node: NodeWire, path: Path, here: str) -> None:
        """Restore ``node``'s content to ``path`` (soon or now; refusals go to the sink)."""
        if self._failure is not None:
            raise self._failure
        pieces = self._plan(node, here)
        if pieces is None:
            return
        directory, name = os.path.split(path)
        file = _File(node, str(path), os.path.join(directory, f".{name}{TEMP_SUFFIX}"), here)
        try:
            # Created here, by the walk alone: workers creating files in one directory only
            # queue for its lock, while here it overlaps with their decoding and writing.
            self._create(file)
        except OSError as exc:
            self._write_failed(file, exc)
            self._release(file)
            return
        offset = 0
        for pack_id, start, length, blob_id, raw_length in pieces:
            batch = self._batch
            full = batch.stored + length > _BATCH_STORED or batch.raw + raw_length > _BATCH_RAW
            if batch.pieces and (full or len(batch.files) >= _BATCH_FILES):
                self._submit()
                batch = self._batch
            if not batch.files or batch.files[-1] is not file:
                file.users += 1  # before the batch runs: the planner's own use keeps this above 0
                batch.files.append(file)
            batch.pieces.append(_Piece(pack_id, start, length, blob_id, raw_length, offset, file))
            batch.stored += length
            batch.raw += raw_length
            offset += raw_length
        if offset != node.get("size", 0):
            file.holes = True  # the final truncate sets the length the snapshot records
        self._release(file)

    def _plan(self, node: NodeWire, here: str) -> list[tuple[str, int, int, bytes, int]] | None:
        """Where each of the file's blobs is; None (and the file refused) if any is missing."""
        planned = []
        missing = set()
        for blob_hex in node.get("content", []):
            blob_id = bytes.fromhex(blob_hex)
            location = self._repo.index.get(blob_id)
            if location is None:
                missing.add(f"(blob {blob_hex[:16]} in no index)")
            elif location.pack_id not in self._present:
                missing.add(location.pack_id)
            else:
                planned.append((location.pack_id, location.offset, location.length, blob_id, location.raw_length))
        if missing:
            self._sink.refused(f"{here}: its data is in missing pack(s) {', '.join(sorted(missing))}")
            return None
        return planned

    def _create(self, file: _File) -> None:
        if self._unnamed:
            try:
                file.descriptor = os.open(os.path.dirname(file.path), _UNNAMED | os.O_WRONLY, 0o600)
                file.unnamed = True
                return
            except OSError as exc:
                if exc.errno not in _NO_UNNAMED:
                    raise
                self._unnamed = False  # this filesystem cannot: named temporary files from now on
        file.descriptor = os.open(file.temp, _CREATE, 0o600)

    def _submit(self) -> None:
        batch, self._batch = self._batch, _Batch()
        if not batch.files:
            return
        self._slots.acquire()
        self._pool.submit(self._run, batch).add_done_callback(self._batch_done)

    def _batch_done(self, future: Future[None]) -> None:
        self._slots.release()
        if future.exception() is not None and self._failure is None:
            self._failure = future.exception()  # a bug, not damage: the walk raises it

    def _run(self, batch: _Batch) -> None:
        finished = False
        try:
            for run in _read_runs(batch.pieces):
                if self._sink.stopping():
                    break
                self._write_run(run)
            finished = not self._sink.stopping()
        finally:
            if not finished:
                _fail_all(batch.files, _STOPPED)
            for file in batch.files:
                self._release(file)

    def _write_run(self, run: list[_Piece]) -> None:
        """Read one stretch of a pack and write every piece in it."""
        if all(piece.file.error is not None for piece in run):
            return
        first = run[0]
        start = first.offset
        end = max(piece.offset + piece.length for piece in run)
        try:
            data = memoryview(self._repo.read_pack_range(first.pack_id, start, end - start, first.blob_id))
        except MissingDataError as exc:
            _fail_all([piece.file for piece in run], exc.message)
            return
        last_id = b""
        plain: bytes | memoryview | None = None
        damage = ""
        for piece in run:
            file = piece.file
            if piece.blob_id != last_id:  # the same blob twice in a row (dedup) is decoded once
                last_id = piece.blob_id
                sealed = data[piece.offset - start : piece.offset - start + piece.length]
                try:
                    plain = self._repo.decode_blob_view(sealed, piece.blob_id, piece.pack_id)
                except CorruptDataError as exc:
                    plain, damage = None, exc.message
            if file.error is not None:
                continue
            if plain is None:
                file.error = damage
                continue
            try:
                if _write_sparse(file.descriptor, plain, piece.file_offset):
                    file.holes = True
            except OSError as exc:
                self._write_failed(file, exc)
                continue
            self._progress.bytes_done += piece.raw_length

    def _write_failed(self, file: _File, exc: OSError) -> None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            file.error = _STOPPED
            self._sink.target_full(file.here)
        else:
            file.error = exc.strerror or str(exc)

    def _release(self, file: _File) -> None:
        with file.lock:
            file.users -= 1
            if file.users:
                return
        if file.error is None:
            try:
                self._complete(file)
            except OSError as exc:
                self._write_failed(file, exc)
            else:
                self._sink.restored(file.node)
                return
        if file.descriptor >= 0:
            os.close(file.descriptor)  # an unnamed file vanishes with it
        if not file.unnamed:
            _remove(file.temp)
        if file.error:
            self._sink.refused(f"{file.here}: {file.error}")

    def _complete(self, file: _File) -> None:
        descriptor = file.descriptor
        if file.holes:
            # Sets the length even when the file ends in a hole (holes write nothing).
            os.ftruncate(descriptor, file.node.get("size", 0))
        # Metadata through the descriptor: no more path lookups; link and rename keep it.
        self._sink.apply_metadata(descriptor, file.node, file.path)
        if file.unnamed:
            self._link_into_place(descriptor, file)
        file.descriptor = -1
        os.close(descriptor)
        if not file.unnamed:
            os.replace(file.temp, file.path)


    def _link_into_place(self, descriptor: int, file: _File) -> None:
        # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N links the open file itself.
        source = str(descriptor)
        try:
            os.link(source, file.path, src_dir_fd=self._open_files, follow_symlinks=True)
        except FileExistsError:
            # Something is in the way: link beside it and swap atomically, as for named files.
            _remove(file.temp)
            os.link(source, file.temp, src_dir_fd=self._open_files, follow_symlinks=True)
            try:
                os.replace(file.temp, file.path)
            except OSError:
                _remove(file.temp)
                raise


def _read_runs(pieces: list[_Piece]) -> list[list[_Piece]]:
    """The pieces grouped into stretches of a pack that are read at once, in pack order."""
    runs: list[list[_Piece]] = []
    end = 0
    for piece in sorted(pieces, key=lambda p: (p.pack_id, p.offset)):
        run = runs[-1] if runs else None
        if run is None or piece.pack_id != run[0].pack_id or piece.offset > end + _READ_THROUGH or end - run[0].offset > _BATCH_STORED:
            runs.append([piece])
            end = piece.offset + piece.length
        else:
            run.append(piece)
            end = max(end, piece.offset + piece.length)
    return runs


def _fail_all(files: list[_File], error: str) -> None:
    for file in files:
        if file.error is None:
            file.error = error


def _write_sparse(descriptor: int, data: bytes | memoryview, offset: int) -> bool:
    """Write ``data`` at ``offset``, leaving all-zero 4 KiB blocks as holes; True if it left one.

    Only blocks that start with a zero byte can be zero, so one strided look finds the
    candidates (none at all in most data) without scanning every byte.
    """
    view = memoryview(data)
    firsts = view[::_HOLE_BLOCK].tobytes()
    block = firsts.find(0)
    if block < 0:
        _pwrite_all(descriptor, view, offset)
        return False
    holes = False
    pending = 0  # start of the data not written yet
    while block >= 0:
        low = block * _HOLE_BLOCK
        high = min(low + _HOLE_BLOCK, len(view))
        if view[low:high].tobytes() == _ZERO_BLOCK[: high - low]:
            if low > pending:
                _pwrite_all(descriptor, view[pending:low], offset + pending)
            pending = high
            holes = True
        block = firsts.find(0, block + 1)
    if pending < len(view):
        _pwrite_all(descriptor, view[pending:], offset + pending)
    return holes


def _pwrite_all(descriptor: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(descriptor, view, offset)
        view = view[written:]
        offset += written


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
