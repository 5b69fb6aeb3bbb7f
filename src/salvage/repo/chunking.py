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

    @property
    def max_size(self) -> int:
        return self._cdc.max_size

    def chunks(self, stream: BinaryIO) -> Iterator[bytes]:
        """Chunks of a stream, copied out; memory stays at about two maximum-size chunks."""
        for view in self.views(stream):
            yield bytes(view)

    def views(self, stream: BinaryIO) -> Iterator[memoryview]:
        """Chunks of a stream without copying: each view is valid only until the next one."""
        for chunk in self._cdc.cut_stream(stream):
            yield chunk.data

    def cut(self, data: bytes) -> Iterator[memoryview]:
        """Chunks of an in-memory buffer, as views into it (for files smaller than a chunk or two)."""
        for chunk in self._cdc.cut_buf(data):
            yield chunk.data

    def boundaries(self, data: bytes) -> list[int]:
        """End offsets of the chunks of ``data`` (for tests and tools)."""
        return [c.offset + c.length for c in self._cdc.cut_buf(data)]
