"""Chunk boundaries are part of the format: these golden vectors must never change."""

from __future__ import annotations

import io

import blake3

from salvage.repo.chunking import Chunker
from salvage.repo.config import ChunkerParams

from .conftest import SMALL_CHUNKS, random_bytes

GOLDEN_SEED = 0x5A1_7A6E


def golden_data(size: int = 16 * 1024 * 1024) -> bytes:
    return blake3.blake3(b"salvage golden vector").digest(length=size)


def test_default_parameters_golden_boundaries() -> None:
    chunker = Chunker(ChunkerParams(), GOLDEN_SEED)
    assert chunker.boundaries(golden_data()) == GOLDEN_DEFAULT


def test_small_parameters_golden_boundaries() -> None:
    chunker = Chunker(SMALL_CHUNKS, GOLDEN_SEED)
    assert chunker.boundaries(golden_data(64 * 1024)) == GOLDEN_SMALL


def test_stream_and_buffer_cut_the_same() -> None:
    data = golden_data(1024 * 1024)
    chunker = Chunker(SMALL_CHUNKS, GOLDEN_SEED)
    streamed = list(chunker.chunks(io.BytesIO(data)))
    assert b"".join(streamed) == data
    ends = []
    total = 0
    for chunk in streamed:
        total += len(chunk)
        ends.append(total)
    assert ends == chunker.boundaries(data)


def test_sizes_respect_min_and_max() -> None:
    chunker = Chunker(SMALL_CHUNKS, 7)
    data = random_bytes(2_000_000, 3)
    sizes = [len(c) for c in chunker.chunks(io.BytesIO(data))]
    assert all(SMALL_CHUNKS.min_size <= s <= SMALL_CHUNKS.max_size for s in sizes[:-1])
    assert max(sizes) <= SMALL_CHUNKS.max_size


def test_an_insertion_moves_only_nearby_boundaries() -> None:
    chunker = Chunker(SMALL_CHUNKS, 11)
    data = random_bytes(1_000_000, 5)
    edited = data[:300_000] + b"inserted bytes" + data[300_000:]
    before = set(bytes(c) for c in chunker.chunks(io.BytesIO(data)))
    after = list(chunker.chunks(io.BytesIO(edited)))
    new = [c for c in after if c not in before]
    # Only the chunk(s) around the insertion differ; everything else deduplicates.
    assert 1 <= len(new) <= 2
    assert sum(len(c) for c in new) <= 2 * SMALL_CHUNKS.max_size


def test_the_seed_changes_boundaries() -> None:
    data = golden_data(256 * 1024)
    assert Chunker(SMALL_CHUNKS, 1).boundaries(data) != Chunker(SMALL_CHUNKS, 2).boundaries(data)


GOLDEN_DEFAULT = [
    453253, 966080, 2976651, 4624508, 5053400, 6512297, 7998526,
    9151804, 11144667, 11591580, 12546919, 12943100, 14812341, 16777216,
]
GOLDEN_SMALL = [
    4762, 11187, 15370, 20230, 26599, 28715, 34803, 40201, 43364, 50954, 57522, 61665, 65536,
]
