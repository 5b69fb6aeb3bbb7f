"""Forget snapshots by a retention policy and remove the data nothing references.

Runs under an exclusive lock, so no backup can be adding packs it has not indexed yet.
Ordering (docs/FORMAT.md, "Orderings"): forgotten snapshot files are deleted first; then
repacked packs are uploaded; then one new index, naming every old index file in
``supersedes``, is written; then the old index files are deleted; packs are deleted last.
A crash at any point leaves every snapshot restorable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import cast

from salvage.repo import layout
from salvage.repo.errors import RepositoryError
from salvage.repo.index import IndexPackWire, IndexWire, pack_wire
from salvage.repo.locks import RepositoryLock
from salvage.repo.packs import PackBuilder, PackedBlob
from salvage.repo.repository import Repository
from salvage.repo.retention import RetentionPolicy, apply_policy
from salvage.repo.snapshots import Snapshot, list_snapshots
from salvage.repo.treewalk import walk

# Repack a pack when more than this share of its bytes is unreferenced.
REPACK_UNUSED_SHARE = 0.2
_PACKS_PER_INDEX_FILE = 4096


@dataclass
class PruneReport:
    kept: list[Snapshot] = field(default_factory=list)
    forgotten: list[Snapshot] = field(default_factory=list)
    packs_deleted: int = 0
    packs_repacked: int = 0
    packs_written: int = 0
    bytes_freed: int = 0
    dry_run: bool = False


def prune(repo: Repository, policy: RetentionPolicy, *, dry_run: bool = False) -> PruneReport:
    """Forget the snapshots ``policy`` does not keep, and remove the data nothing references."""
    return _prune(repo, lambda snapshots: apply_policy(snapshots, policy), dry_run=dry_run)


def forget_snapshots(repo: Repository, snapshot_ids: Collection[str]) -> PruneReport:
    """Forget exactly these snapshots (a deleted backup's volumes; ids not there are ignored)
    and remove the data only they referenced."""
    ids = set(snapshot_ids)
    return _prune(repo, lambda snapshots: ([s for s in snapshots if s.id not in ids],
                                           [s for s in snapshots if s.id in ids]), dry_run=False)


def _prune(repo: Repository, choose: Callable[[list[Snapshot]], tuple[list[Snapshot], list[Snapshot]]],
           *, dry_run: bool) -> PruneReport:
    report = PruneReport(dry_run=dry_run)
    with RepositoryLock(repo, exclusive=True, operation="prune"):
        keep, forget = choose(list_snapshots(repo))
        report.kept, report.forgotten = keep, forget
        if not dry_run:
            for snapshot in forget:
                repo.store.delete(layout.file_key("snapshots", snapshot.id))
        index_ids, packs = _read_indexes(repo)
        repo.load_index()
        used = _used_blobs(repo, keep)
        sizes = repo.pack_sizes()
        keep_packs: list[IndexPackWire] = []
        to_delete: list[str] = [p for p in sizes if p not in packs]  # leftovers of interrupted backups
        to_repack: list[tuple[str, list[PackedBlob]]] = []
        placed: set[bytes] = set()
        for pack_id, blobs in packs.items():
            if pack_id not in sizes:
                keep_packs.append(pack_wire(pack_id, blobs))  # missing: leave it for check to report
                continue
            needed = [b for b in blobs if b.id in used and b.id not in placed]
            placed.update(b.id for b in needed)
            unused_bytes = sum(b.length for b in blobs) - sum(b.length for b in needed)
            if not needed:
                to_delete.append(pack_id)
            elif unused_bytes > REPACK_UNUSED_SHARE * sizes[pack_id]:
                to_repack.append((pack_id, needed))
            else:
                keep_packs.append(pack_wire(pack_id, blobs))
        report.packs_deleted = len(to_delete)
        report.packs_repacked = len(to_repack)
        report.bytes_freed = sum(sizes[p] for p in to_delete) + sum(sizes[p] for p, _ in to_repack)
        if dry_run:
            return report
        new_packs = _repack(repo, to_repack)
        report.packs_written = len(new_packs)
        report.bytes_freed -= sum(sum(b["length"] for b in p["blobs"]) for p in new_packs)
        all_packs = keep_packs + new_packs
        if to_delete or to_repack or len(index_ids) > 1:
            for start in range(0, max(len(all_packs), 1), _PACKS_PER_INDEX_FILE):
                repo.write_index(all_packs[start : start + _PACKS_PER_INDEX_FILE], supersedes=sorted(index_ids))
            for index_id in index_ids:
                repo.store.delete(layout.file_key("index", index_id))
        for pack_id in to_delete + [p for p, _ in to_repack]:
            repo.store.delete(layout.pack_key(pack_id))
        repo.load_index()
    return report


def _read_indexes(repo: Repository) -> tuple[list[str], dict[str, list[PackedBlob]]]:
    index_ids = list(repo.list_files("index"))
    packs: dict[str, list[PackedBlob]] = {}
    for index_id in index_ids:
        wire = cast(IndexWire, repo.load_file("index", index_id))
        for pack in wire["packs"]:
            packs[pack["id"]] = [
                PackedBlob(bytes.fromhex(b["id"]), b["type"], b["offset"], b["length"], b["raw_length"])
                for b in pack["blobs"]
            ]
    return index_ids, packs


def _used_blobs(repo: Repository, snapshots: list[Snapshot]) -> set[bytes]:
    used: set[bytes] = set()
    trees: set[bytes] = set()
    for snapshot in snapshots:
        for entry in walk(repo, snapshot.tree, trees):
            if entry.problem:
                raise RepositoryError(
                    f"prune stopped: snapshot {snapshot.short_id} cannot be read ({entry.problem})",
                    hint="Nothing was deleted but forgotten snapshots. Run `salvage repo check` and repair first.",
                )
            used.update(entry.blobs)
    return used


def _repack(repo: Repository, to_repack: list[tuple[str, list[PackedBlob]]]) -> list[IndexPackWire]:
    """Copy the still-needed blobs into new packs; sealed bytes are copied after verifying them."""
    written: list[IndexPackWire] = []
    builders = {"data": PackBuilder("data"), "tree": PackBuilder("tree")}

    def upload(builder: PackBuilder) -> None:
        pack_id, data = builder.finish(repo.cipher)
        repo.store.put(layout.pack_key(pack_id), data)
        written.append(pack_wire(pack_id, builder.blobs))

    for pack_id, blobs in to_repack:
        data = repo.store.get(layout.pack_key(pack_id))
        for blob in blobs:
            sealed = data[blob.offset : blob.offset + blob.length]
            repo.decode_blob(sealed, blob.id, pack_id)  # never copy damage forward
            builder = builders[blob.type]
            builder.add(blob.id, sealed, blob.raw_length)
            if builder.size >= repo.config.pack_size:
                upload(builder)
                builders[blob.type] = PackBuilder(blob.type)
    for builder in builders.values():
        if len(builder):
            upload(builder)
    return written
