"""The index: where each blob is (pack, offset, length). Index files are written once;
prune replaces several by a new one that names them in ``supersedes``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypedDict

from salvage.repo.packs import BlobType, PackedBlob, stored_size

INDEX_VERSION = 1


class IndexBlobWire(TypedDict):
    id: str
    type: BlobType
    offset: int
    length: int
    raw_length: int


class IndexPackWire(TypedDict):
    id: str
    blobs: list[IndexBlobWire]


class IndexWire(TypedDict):
    version: int
    supersedes: list[str]
    packs: list[IndexPackWire]


@dataclass(frozen=True)
class BlobLocation:
    pack_id: str
    type: BlobType
    offset: int
    length: int
    raw_length: int


class Index:
    """blob id → location, for every blob in the repository; thread-safe for lookups and adds."""

    def __init__(self) -> None:
        # Compact rows (pack number instead of pack id) keep ~100 bytes per blob in memory.
        self._blobs: dict[bytes, tuple[int, int, int, int, bool]] = {}
        self._packs: list[str] = []
        self._pack_numbers: dict[str, int] = {}
        # Each pack's exact size, from the complete blob list its index entry has.
        self._pack_sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._blobs)

    def __contains__(self, blob_id: bytes) -> bool:
        return blob_id in self._blobs

    def add_pack(self, pack_id: str, blobs: Iterable[PackedBlob]) -> None:
        """Every blob of the pack (index files and writers list them all)."""
        blobs = list(blobs)
        size = stored_size(blobs)
        with self._lock:
            self._pack_sizes[pack_id] = size
            number = self._pack_numbers.get(pack_id)
            if number is None:
                number = self._pack_numbers[pack_id] = len(self._packs)
                self._packs.append(pack_id)
            for blob in blobs:
                # First location wins: duplicates (two concurrent backups) are harmless.
                self._blobs.setdefault(blob.id, (number, blob.offset, blob.length, blob.raw_length, blob.type == "tree"))

    def add_wire(self, wire: IndexWire) -> None:
        for pack in wire["packs"]:
            self.add_pack(
                pack["id"],
                (PackedBlob(bytes.fromhex(b["id"]), b["type"], b["offset"], b["length"], b["raw_length"]) for b in pack["blobs"]),
            )

    def get(self, blob_id: bytes) -> BlobLocation | None:
        row = self._blobs.get(blob_id)
        if row is None:
            return None
        number, offset, length, raw_length, is_tree = row
        return BlobLocation(self._packs[number], "tree" if is_tree else "data", offset, length, raw_length)

    def items(self) -> Iterator[tuple[bytes, BlobLocation]]:
        for blob_id in list(self._blobs):
            location = self.get(blob_id)
            assert location is not None
            yield blob_id, location

    def pack_size(self, pack_id: str) -> int | None:
        """The size the index says the pack has (None: no index names it)."""
        return self._pack_sizes.get(pack_id)

    def pack_sizes(self) -> dict[str, int]:
        """Every pack an index names, with the size it says the pack has."""
        with self._lock:
            return dict(self._pack_sizes)

    def pack_ids(self) -> set[str]:
        return {self._packs[row[0]] for row in self._blobs.values()}


def pack_wire(pack_id: str, blobs: Iterable[PackedBlob]) -> IndexPackWire:
    return {
        "id": pack_id,
        "blobs": [
            {"id": b.id.hex(), "type": b.type, "offset": b.offset, "length": b.length, "raw_length": b.raw_length}
            for b in blobs
        ],
    }
