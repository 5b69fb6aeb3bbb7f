"""Pack files: many sealed blobs, then a sealed header listing them, then its length.

::

    blob_1 || blob_2 || ... || blob_n || sealed(header JSON) || uint32 LE length of sealed header

The header repeats the index entries, so an index can be rebuilt from the packs alone.
A pack's id is the blake3 hash of its bytes (checkable without a key).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Literal

from salvage.repo.crypto import OVERHEAD, Cipher, content_hash

BlobType = Literal["data", "tree"]
_HEADER_AAD = b"salvage-pack-header-v1"
_TRAILER = struct.Struct("<I")


@dataclass(frozen=True)
class PackedBlob:
    id: bytes
    type: BlobType
    offset: int
    length: int  # stored (sealed) length
    raw_length: int  # plaintext length


class PackBuilder:
    """Accumulates sealed blobs in one growing buffer until the pack is big enough to upload.

    One buffer, not a list joined at the end, so a finished pack costs its size in memory
    once rather than twice.
    """

    def __init__(self, blob_type: BlobType) -> None:
        self.blob_type = blob_type
        self._buffer = bytearray()
        self.blobs: list[PackedBlob] = []

    @property
    def size(self) -> int:
        return len(self._buffer)

    def __len__(self) -> int:
        return len(self.blobs)

    def add(self, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        self.blobs.append(PackedBlob(blob_id, self.blob_type, len(self._buffer), len(sealed), raw_length))
        self._buffer += sealed

    def finish(self, cipher: Cipher) -> tuple[str, bytes]:
        """The pack's id and bytes; the builder is empty afterwards."""
        sealed_header = cipher.seal(_header(self.blobs), _HEADER_AAD)
        self._buffer += sealed_header
        self._buffer += _TRAILER.pack(len(sealed_header))
        data, self._buffer = self._buffer, bytearray()
        return content_hash(data), data  # type: ignore[return-value]  # bytearray is bytes-like


def stored_size(blobs: list[PackedBlob]) -> int:
    """The exact size of the pack holding ``blobs`` (all of them, in any order): its blobs,
    its sealed header and the trailer. Lets a reader check a pack's size from the index
    alone, before downloading any of it."""
    end = max((b.offset + b.length for b in blobs), default=0)
    return end + len(_header(sorted(blobs, key=lambda b: b.offset))) + OVERHEAD + _TRAILER.size


def _header(blobs: list[PackedBlob]) -> bytes:
    return json.dumps([[b.type, b.id.hex(), b.offset, b.length, b.raw_length] for b in blobs],
                      separators=(",", ":")).encode()


def read_header(data: bytes, cipher: Cipher) -> list[PackedBlob]:
    """The blobs a whole pack says it holds; raises AuthenticationFailed or ValueError if damaged."""
    if len(data) < _TRAILER.size:
        raise ValueError("pack shorter than its trailer")
    (length,) = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    start = len(data) - _TRAILER.size - length
    if start < 0:
        raise ValueError("pack header length points before the start of the pack")
    header = json.loads(cipher.open(data[start : len(data) - _TRAILER.size], _HEADER_AAD))
    return [PackedBlob(bytes.fromhex(i), t, o, n, r) for t, i, o, n, r in header]
