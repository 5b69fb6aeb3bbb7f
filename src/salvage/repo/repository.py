"""Opening a repository and reading/writing its objects (blobs, packs, encrypted files).

Write ordering that crash safety relies on (docs/FORMAT.md, "Orderings"): a pack is
uploaded before any index file names it; index files are written before the snapshot
that needs them. So a crash leaves at worst packs no index names, which readers ignore.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import zstandard

from salvage.repo import keys, layout
from salvage.repo.blobs import BlobCodec
from salvage.repo.config import ChunkerParams, RepoConfig
from salvage.repo.crypto import (
    AuthenticationFailed,
    Cipher,
    KdfParams,
    MasterKey,
    content_hash,
)
from salvage.repo.errors import (
    CorruptDataError,
    MissingDataError,
    RepositoryError,
    RepositoryExistsError,
    RepositoryNotFoundError,
    UnsupportedVersionError,
    WrongPasswordError,
)
from salvage.repo.index import INDEX_VERSION, Index, IndexPackWire, IndexWire, pack_wire
from salvage.repo.packs import BlobType, PackBuilder
from salvage.storage.base import Store
from salvage.storage.errors import ObjectNotFoundError

# Index files are flushed every this many packs, so an interrupted backup loses little.
INDEX_EVERY_PACKS = 8
# Packs being uploaded at once (each up to pack_size bytes in memory).
UPLOADS_IN_FLIGHT = 2


class Repository:
    def __init__(self, store: Store, config: RepoConfig, master: MasterKey, *, read_only: bool = False) -> None:
        self.store = store
        # Read-only (a ReadOnly location): nothing is written, not even locks.
        self.read_only = read_only
        self.config = config
        self.master = master
        self.cipher: Cipher = master.cipher()
        self.codec = BlobCodec(self.cipher, config.compression_level)
        self.index = Index()

    # --- lifecycle -------------------------------------------------------------------

    @staticmethod
    def init(
        store: Store,
        password: str,
        *,
        chunker: ChunkerParams | None = None,
        kdf: KdfParams | None = None,
        pack_size: int = 16 * 1024 * 1024,
    ) -> Repository:
        if _exists(store, layout.CONFIG):
            raise RepositoryExistsError(
                f"{store.url} already holds a repository",
                hint="Use it as it is, or choose another location for a new one.",
            )
        config = RepoConfig.new(chunker, pack_size=pack_size)
        master = MasterKey.generate()
        key_data = keys.wrap(master, config.id, password, kdf or KdfParams())
        # The key goes first: a config without a key would be a repository nobody can open.
        key = layout.file_key("keys", content_hash(key_data))
        store.put(key, key_data)
        if not store.put_if_absent(layout.CONFIG, config.encode()):
            store.delete(key)  # it opens a repository that never was: the winner's has its own key
            raise RepositoryExistsError(f"{store.url} got a repository from someone else while we created ours")
        return Repository(store, config, master)

    @staticmethod
    def open(store: Store, password: str, *, load_index: bool = True, read_only: bool = False) -> Repository:
        try:
            raw = store.get(layout.CONFIG)
        except ObjectNotFoundError as exc:
            raise RepositoryNotFoundError(
                f"no repository at {store.url}",
                hint="Create one with `salvage repo init --repo ...`, or check the --repo value.",
            ) from exc
        config = RepoConfig.decode(raw, store.url)
        master = _unlock(store, config, password)
        repo = Repository(store, config, master, read_only=read_only)
        if load_index:
            repo.load_index()
        return repo

    # --- encrypted files (index, snapshots, locks) -------------------------------------

    def save_file(self, kind: layout.FileKind, wire: Any) -> str:
        self.refuse_if_read_only(f"write {kind}")
        data = self.seal_file(kind, wire)
        file_id = content_hash(data)
        self.store.put(layout.file_key(kind, file_id), data)
        return file_id

    def seal_file(self, kind: layout.FileKind, wire: Any) -> bytes:
        plain = zstandard.ZstdCompressor(level=3).compress(json.dumps(wire, separators=(",", ":")).encode())
        return self.cipher.seal(plain, _file_aad(kind))

    def load_file(self, kind: layout.FileKind, file_id: str) -> Any:
        key = layout.file_key(kind, file_id)
        try:
            data = self.store.get(key)
        except ObjectNotFoundError as exc:
            raise MissingDataError(f"{key} is missing from {self.store.url}") from exc
        if content_hash(data) != file_id:  # written once under the hash of its bytes
            raise CorruptDataError(
                f"{key} is damaged (its content does not hash to its name)",
                hint="Run `salvage repo check` to see the extent of the damage.",
            )
        try:
            plain = self.cipher.open(data, _file_aad(kind))
            wire = json.loads(zstandard.ZstdDecompressor().decompress(plain, max_output_size=1 << 30))
        except (AuthenticationFailed, zstandard.ZstdError, ValueError) as exc:
            raise CorruptDataError(
                f"{key} is damaged (it does not decrypt)",
                hint="Run `salvage repo check` to see the extent of the damage.",
            ) from exc
        version = wire.get("version") if isinstance(wire, dict) else None
        if version != 1:
            raise UnsupportedVersionError(f"{key} has version {version}, which this Salvage cannot read", hint="Upgrade Salvage.")
        return wire

    def list_files(self, kind: layout.FileKind) -> Iterator[str]:
        for info in self.store.list(layout.file_prefix(kind)):
            yield layout.file_id_of(info.key)

    # --- index and blobs ---------------------------------------------------------------

    def load_index(self) -> None:
        index = Index()
        for index_id in self.list_files("index"):
            index.add_wire(cast(IndexWire, self.load_file("index", index_id)))
        self.index = index

    def write_index(self, packs: list[IndexPackWire], supersedes: list[str] | None = None) -> str:
        wire: IndexWire = {"version": INDEX_VERSION, "supersedes": supersedes or [], "packs": packs}
        return self.save_file("index", wire)

    def read_blob(self, blob_id: bytes) -> bytes:
        location = self.index.get(blob_id)
        if location is None:
            raise MissingDataError(
                f"blob {blob_id.hex()} is in no index",
                hint="Run `salvage repo check` to see which snapshots are affected.",
            )
        sealed = self.read_pack_range(location.pack_id, location.offset, location.length, blob_id)
        return self.decode_blob(sealed, blob_id, location.pack_id)

    def read_pack_range(self, pack_id: str, start: int, length: int, blob_id: bytes) -> bytes:
        """``length`` bytes of a pack from ``start`` (one or more sealed blobs, the first ``blob_id``)."""
        try:
            return self.store.get_range(layout.pack_key(pack_id), start, length)
        except ObjectNotFoundError as exc:
            raise MissingDataError(
                f"pack {pack_id} is missing (it holds blob {blob_id.hex()[:16]})",
                hint="Run `salvage repo check` to see which snapshots are affected.",
            ) from exc

    def decode_blob(self, sealed: bytes | memoryview, blob_id: bytes, pack_id: str) -> bytes:
        plain = self.decode_blob_view(sealed, blob_id, pack_id)
        return plain if isinstance(plain, bytes) else bytes(plain)

    def decode_blob_view(self, sealed: bytes | memoryview, blob_id: bytes, pack_id: str) -> bytes | memoryview:
        """The checked plaintext; a raw blob may come back as a view rather than a copy."""
        try:
            plain = self.codec.decode_view(sealed, blob_id)
        except AuthenticationFailed as exc:
            raise CorruptDataError(
                f"pack {pack_id} is corrupt: blob {blob_id.hex()[:16]} does not decrypt",
                hint="Run `salvage repo check --read-data` to list all damage.",
            ) from exc
        if self.master.id_of(plain) != blob_id:
            raise CorruptDataError(f"pack {pack_id} is corrupt: blob {blob_id.hex()[:16]} does not match its id")
        return plain

    def pack_sizes(self) -> dict[str, int]:
        """Every pack in the store (indexed or not) and its size."""
        return {layout.pack_id_of(i.key): i.size for i in self.store.list(layout.DATA_PREFIX)}

    def writer(self) -> RepoWriter:
        self.refuse_if_read_only("add data")
        return RepoWriter(self)

    def refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise RepositoryError(
                f"cannot {what}: the repository at {self.store.url} is opened read-only",
                hint="Use a location with access mode ReadWrite for backups and prune.",
            )


class RepoWriter:
    """Adds blobs to packs, uploads full packs, and writes index files for them.

    Thread-safe: backup workers call :meth:`add_blob` concurrently. Compression and
    encryption run in the caller's thread, outside the lock, so they use all cores.
    Full packs upload in the background (at most ``UPLOADS_IN_FLIGHT`` at once, which
    bounds memory) so slow storage overlaps with chunking instead of stalling it.
    """

    def __init__(self, repo: Repository, *, index_every: int = INDEX_EVERY_PACKS) -> None:
        self.repo = repo
        self._index_every = index_every
        self._lock = threading.Lock()
        self._pending: set[bytes] = set()
        self._builders: dict[BlobType, PackBuilder] = {"data": PackBuilder("data"), "tree": PackBuilder("tree")}
        self._unindexed: list[IndexPackWire] = []
        self._uploader: ThreadPoolExecutor | None = None
        self._upload_slots = threading.BoundedSemaphore(UPLOADS_IN_FLIGHT)
        self._uploads: set[Future[None]] = set()
        self._failure: BaseException | None = None
        self.blobs_added = 0
        self.bytes_added = 0  # stored (compressed, sealed) bytes
        self.raw_bytes_added = 0
        self.packs_written = 0

    def has(self, blob_id: bytes) -> bool:
        """Whether the repository or this writer already has the blob (a hint; add_blob decides)."""
        return blob_id in self.repo.index or blob_id in self._pending

    def add_blob(self, blob_type: BlobType, blob_id: bytes, plaintext: bytes | memoryview) -> bool:
        """Store the blob unless the repository (or this writer) already has it.

        ``plaintext`` is consumed before this returns, so a reused buffer's view is fine.
        """
        self._raise_failure()
        with self._lock:
            if blob_id in self.repo.index or blob_id in self._pending:
                return False
            self._pending.add(blob_id)
        sealed = self.repo.codec.encode(plaintext, blob_id)
        full: PackBuilder | None = None
        with self._lock:
            builder = self._builders[blob_type]
            builder.add(blob_id, sealed, len(plaintext))
            self.blobs_added += 1
            self.bytes_added += len(sealed)
            self.raw_bytes_added += len(plaintext)
            if builder.size >= self.repo.config.pack_size:
                full = builder
                self._builders[blob_type] = PackBuilder(blob_type)
        if full is not None:
            self._start_upload(full)
        return True

    def _start_upload(self, builder: PackBuilder) -> None:
        self._upload_slots.acquire()
        with self._lock:
            if self._uploader is None:
                self._uploader = ThreadPoolExecutor(max_workers=UPLOADS_IN_FLIGHT, thread_name_prefix="salvage-upload")
            future = self._uploader.submit(self._upload, builder)
            self._uploads.add(future)
        future.add_done_callback(self._upload_done)

    def _upload_done(self, future: Future[None]) -> None:
        with self._lock:
            self._uploads.discard(future)
            if future.exception() is not None and self._failure is None:
                self._failure = future.exception()
        self._upload_slots.release()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _upload(self, builder: PackBuilder) -> None:
        pack_id, data = builder.finish(self.repo.cipher)
        self.repo.store.put(layout.pack_key(pack_id), data)
        to_index: list[IndexPackWire] = []
        with self._lock:
            self.repo.index.add_pack(pack_id, builder.blobs)
            self._pending.difference_update(b.id for b in builder.blobs)
            self._unindexed.append(pack_wire(pack_id, builder.blobs))
            self.packs_written += 1
            if len(self._unindexed) >= self._index_every:
                to_index, self._unindexed = self._unindexed, []
        if to_index:
            self.repo.write_index(to_index)

    def close(self) -> None:
        """Wait for uploads in flight without starting new ones (after a failure).

        Callers hold a lock; releasing it while an upload is still running would let a
        prune delete a pack an index is about to name.
        """
        with self._lock:
            uploader, self._uploader = self._uploader, None
        if uploader is not None:
            uploader.shutdown(wait=True)

    def flush(self) -> None:
        """Upload partial packs and index everything; after this every added blob is durable."""
        with self._lock:
            builders = [b for b in self._builders.values() if len(b)]
            self._builders = {"data": PackBuilder("data"), "tree": PackBuilder("tree")}
        for builder in builders:
            self._start_upload(builder)
        with self._lock:
            uploader, self._uploader = self._uploader, None
        if uploader is not None:
            uploader.shutdown(wait=True)
        self._raise_failure()
        with self._lock:
            to_index, self._unindexed = self._unindexed, []
        if to_index:
            self.repo.write_index(to_index)


def _file_aad(kind: str) -> bytes:
    return f"salvage-{kind}-v1".encode()


def _exists(store: Store, key: str) -> bool:
    try:
        store.size(key)
    except ObjectNotFoundError:
        return False
    return True


def _unlock(store: Store, config: RepoConfig, password: str) -> MasterKey:
    damaged: list[str] = []
    found = False
    for info in store.list(layout.file_prefix("keys")):
        found = True
        data = store.get(info.key)
        master = keys.unwrap(data, config.id, password, info.key)
        if master is not None:
            return master
        if content_hash(data) != layout.file_id_of(info.key):
            damaged.append(info.key)
    if not found:
        raise RepositoryError(
            f"the repository at {store.url} has no key files",
            hint="It cannot be opened; restore keys/ from a copy of the repository.",
        )
    if damaged:  # then the password may well be right
        raise CorruptDataError(
            f"no key file of the repository at {store.url} opens with this password, and "
            f"{', '.join(damaged)} is damaged (its content does not hash to its name)",
            hint="Restore keys/ from a copy of the repository, or open it with another key file's password.",
        )
    raise WrongPasswordError(
        f"wrong password for the repository at {store.url}",
        hint="Check --password-file or SALVAGE_REPO_PASSWORD; no key file opens with this password.",
    )
