"""Content-defined chunking (FastCDC 2020, pyfastcdc). Boundaries are part of the format:
changing them breaks deduplication against every existing snapshot, so golden-vector
tests pin them (tests/unit/repo/test_chunking.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from pyfastcdc import FastCDC

from salvage.repo.config import ChunkerParams


class Chunker:
    def __init__(self, params: ChunkerParams, seed: int) -> None:
        self._cdc = FastCDC(
            params.avg_size,
            min_size=params.min_size,
            max_size=params.max_size,
            normalized_chunking=params.normalization,  # type: ignore[arg-type]
            seed=seed,
        )

    def chunks(self, stream: BinaryIO) -> Iterator[bytes]:
        """Chunks of a stream; memory stays at about two maximum-size chunks."""
        for chunk in self._cdc.cut_stream(stream):
            # The chunker reuses its buffer, so each chunk must be copied out before the next.
            yield bytes(chunk.data)

    def boundaries(self, data: bytes) -> list[int]:
        """End offsets of the chunks of ``data`` (for tests and tools)."""
        return [c.offset + c.length for c in self._cdc.cut_buf(data)]
