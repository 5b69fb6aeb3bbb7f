"""The data path of restore: filling regular files with their contents from the packs.

The tree walk (restore_files.py) hands each file to a :class:`FileWriter`, which groups files
into batches of about ``_BATCH_STORED`` bytes of stored data (many small files share a
batch, a large file is split over several) and runs the batches in worker threads. A
batch reads each pack it needs once per run of neighbouring blobs (sorted by offset,
small gaps read through), decrypts, decompresses and checks each blob once, and writes
it at its place in the file with ``pwrite``, leaving all-zero 4 KiB blocks as holes.
Decompression, hashing and writes run outside the GIL (decryption holds it, briefly), so
the workers keep every core busy; at most ``2 * workers`` batches exist at once, so memory stays bounded
whatever the number and size of the files.

Large stretches of a file skip the page cache: a batch assembles its part of the file in a
page-aligned buffer of its worker's and writes the whole 4 KiB blocks in it with direct
I/O (``O_DIRECT``), and only the partial blocks at its two ends through the page cache.
Writing through the page cache costs more CPU than decoding (every byte is copied into
freshly allocated cache pages, and two writers of one file queue on its lock), and a
restore of a volume would push everything else on the node out of the cache. Where the
filesystem refuses direct I/O, or its blocks are larger than 4 KiB, every write is
buffered; ``SALVAGE_RESTORE_DIRECT_IO=0`` asks for that too.

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
import mmap
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
# Plaintext bytes per batch: deduplicated chunks (a file of zeros) cost work, not reads;
# and a worker's buffer for direct I/O holds up to this much.
_BATCH_RAW = 32 * 1024 * 1024
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
# Direct I/O: offsets, lengths and memory aligned to this (any logical block size up to it).
# The same as the hole block: skipping zero blocks in a direct write keeps every piece aligned.
_ALIGN = _HOLE_BLOCK
# A batch's part of a file goes through direct I/O when it has at least this many whole
# blocks' worth. A direct write waits for the disk, so small ones are bound by its latency
# (a millisecond on a network disk); the page cache gathers those instead.
_DIRECT_MIN = 1024 * 1024
_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux (and some other systems) only
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


@dataclass(eq=False)
class _Segment:
    """A batch's stretch ``[start, end)`` of one file, assembled for a direct write.

    ``view`` holds the file's bytes from ``base`` (``start`` rounded down to a block)."""

    start: int
    end: int
    base: int
    view: memoryview


class _Buffers(threading.local):
    """Each worker's page-aligned buffer, kept between batches (fresh memory costs page faults)."""

    memory: mmap.mmap | None = None

    def get(self, size: int) -> mmap.mmap:
        if self.memory is None or len(self.memory) < size:
            # Not closed: the old one goes when the last view of it does.
            self.memory = mmap.mmap(-1, max(size, _BATCH_STORED))
        return self.memory


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
        # None until the first large write finds out whether the target can do it.
        self._direct: bool | None = None if _DIRECT and os.environ.get("SALVAGE_RESTORE_DIRECT_IO", "1") != "0" else False
        self._buffers = _Buffers()

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
            segments = self._segments(batch)
            for run in _read_runs(batch.pieces):
                if self._sink.stopping():
                    break
                self._write_run(run, segments)
            else:
                for file, segment in segments.items():
                    self._write_segment(file, segment)
            finished = not self._sink.stopping()
        finally:
            if not finished:
                _fail_all(batch.files, _STOPPED)
            for file in batch.files:
                self._release(file)

    def _segments(self, batch: _Batch) -> dict[_File, _Segment]:
        """The batch's stretches of files large enough for direct I/O, each given its place
        in this worker's buffer (at aligned offsets, so every block is aligned in memory)."""
        if self._direct is False:
            return {}
        spans: dict[_File, list[int]] = {}
        for piece in batch.pieces:
            span = spans.setdefault(piece.file, [piece.file_offset, piece.file_offset])
            span[0] = min(span[0], piece.file_offset)
            span[1] = max(span[1], piece.file_offset + piece.raw_length)
        layout = []
        size = 0
        for file, (start, end) in spans.items():
            if _floor(end) - _ceil(start) < _DIRECT_MIN:
                continue
            base = _floor(start)
            length = _ceil(end) - base
            layout.append((file, start, end, base, size, length))
            size += length
        if not layout:
            return {}
        view = memoryview(self._buffers.get(size))
        return {file: _Segment(start, end, base, view[at : at + length]) for file, start, end, base, at, length in layout}

    def _write_run(self, run: list[_Piece], segments: dict[_File, _Segment]) -> None:
        """Read one stretch of a pack and write every piece in it (or place it in its segment)."""
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
            segment = segments.get(file)
            if segment is not None:
                at = piece.file_offset - segment.base
                segment.view[at : at + len(plain)] = plain
                continue
            try:
                if _write_sparse(file.descriptor, plain, piece.file_offset):
                    file.holes = True
            except OSError as exc:
                self._write_failed(file, exc)
                continue
            self._progress.bytes_done += piece.raw_length

    def _write_segment(self, file: _File, segment: _Segment) -> None:
        """Write a segment: its whole blocks with direct I/O, its partial end blocks buffered."""
        if file.error is not None:
            return
        start, end, base = segment.start, segment.end, segment.base
        inner_start, inner_end = _ceil(start), _floor(end)
        holes = False
        try:
            # The partial blocks at either end are shared with the neighbouring batches (or
            # end the file): those go through the page cache, which merges them.
            holes |= _write_sparse(file.descriptor, segment.view[start - base : inner_start - base], start)
            holes |= _write_sparse(file.descriptor, segment.view[inner_end - base : end - base], inner_end)
            holes |= self._write_direct(file, segment.view[inner_start - base : inner_end - base], inner_start)
        except OSError as exc:
            self._write_failed(file, exc)
            return
        if holes:
            file.holes = True  # only ever set: another batch of the file may set it too
        self._progress.bytes_done += end - start

    def _write_direct(self, file: _File, view: memoryview, offset: int) -> bool:
        """Write aligned ``view`` at ``offset`` bypassing the page cache, or buffered if the
        target cannot (found out once, on the first large write)."""
        if self._direct is None:
            self._direct = _blocks_fit(file.descriptor)
        if self._direct:
            try:
                if self._open_files >= 0:
                    # The open file itself (unnamed or not), opened again for direct I/O.
                    direct = os.open(str(file.descriptor), os.O_WRONLY | _DIRECT, dir_fd=self._open_files)
                else:
                    direct = os.open(file.temp, os.O_WRONLY | _DIRECT | os.O_NOFOLLOW)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                self._direct = False
            else:
                try:
                    return _write_sparse(direct, view, offset)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    self._direct = False  # refused after all: the same bytes, buffered
                finally:
                    os.close(direct)
        return _write_sparse(file.descriptor, view, offset)

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


def _ceil(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _floor(offset: int) -> int:
    return offset - offset % _ALIGN


def _blocks_fit(descriptor: int) -> bool:
    """Whether aligned 4 KiB writes are whole-block writes on this filesystem.

    With larger blocks a direct write would zero the rest of a block that a buffered
    write shares, so those filesystems get buffered writes only."""
    try:
        size = os.fstatvfs(descriptor).f_bsize
    except OSError:
        return False
    return 0 < size <= _ALIGN and _ALIGN % size == 0


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
