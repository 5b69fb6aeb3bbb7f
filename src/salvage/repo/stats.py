"""Sizes and counts of a repository, for `salvage repo stats`."""

from __future__ import annotations

from dataclasses import dataclass

from salvage.repo import layout
from salvage.repo.repository import Repository


@dataclass(frozen=True)
class RepoStats:
    snapshots: int
    packs: int
    stored_bytes: int  # everything under data/
    blobs: int
    data_blobs: int
    raw_data_bytes: int  # unique file data before compression
    stored_data_bytes: int  # the same after compression and encryption

    @property
    def compression_ratio(self) -> float:
        return self.raw_data_bytes / self.stored_data_bytes if self.stored_data_bytes else 1.0


def stats(repo: Repository) -> RepoStats:
    packs = stored = 0
    for info in repo.store.list(layout.DATA_PREFIX):
        packs += 1
        stored += info.size
    blobs = data_blobs = raw = stored_data = 0
    for _blob_id, location in repo.index.items():
        blobs += 1
        if location.type == "data":
            data_blobs += 1
            raw += location.raw_length
            stored_data += location.length
    return RepoStats(
        snapshots=sum(1 for _ in repo.list_files("snapshots")),
        packs=packs,
        stored_bytes=stored,
        blobs=blobs,
        data_blobs=data_blobs,
        raw_data_bytes=raw,
        stored_data_bytes=stored_data,
    )
