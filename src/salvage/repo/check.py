"""Check a repository: structure always, every byte with ``read_data``.

Structure: every index file and snapshot decrypts; every pack an index names exists
with the right size; every tree reachable from a snapshot reads and decrypts; every
chunk a file needs is indexed in a present pack. Packs no index names are reported as
leftovers (an interrupted backup), not errors: ``prune`` removes them.
With ``read_data``: every pack hashes to its name, its header matches the index, and
every blob decrypts and hashes to its id.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from salvage.repo import layout
from salvage.repo.crypto import AuthenticationFailed, content_hash
from salvage.repo.errors import RepositoryError
from salvage.repo.index import Index, IndexWire
from salvage.repo.locks import RepositoryLock
from salvage.repo.packs import read_header
from salvage.repo.repository import Repository
from salvage.repo.snapshots import Snapshot, SnapshotWire
from salvage.repo.treewalk import walk
from salvage.storage.errors import ObjectNotFoundError

_MAX_FILE_ERRORS_PER_SNAPSHOT = 20


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    snapshots: int = 0
    packs: int = 0
    blobs: int = 0
    packs_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def check(repo: Repository, *, read_data: bool = False, on_pack: Callable[[int, int], None] | None = None) -> CheckReport:
    report = CheckReport()
    with RepositoryLock(repo, exclusive=False, operation="check"):
        index = _check_index(repo, report)
        repo.index = index
        sizes = repo.pack_sizes()
        expected = index.pack_sizes()
        report.packs, report.blobs = len(expected), len(index)
        for pack_id, size in sorted(expected.items()):
            if pack_id not in sizes:
                report.errors.append(f"pack {pack_id} is missing (the index names it)")
            elif sizes[pack_id] != size:
                report.errors.append(f"pack {pack_id} is {sizes[pack_id]} bytes, not {size} as its index says")
        for pack_id in sorted(set(sizes) - set(expected)):
            report.warnings.append(
                f"pack {pack_id} is in no index (left by an interrupted backup); `salvage repo prune` removes it"
            )
        broken = {p for p in expected if p not in sizes}
        _check_snapshots(repo, report, broken)
        if read_data:
            present = sorted(set(expected) & set(sizes))
            # Packs verify independently; hashing and decryption release the GIL.
            with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
                for number, findings in enumerate(pool.map(lambda p: _read_pack(repo, p), present), 1):
                    errors, warnings = findings
                    report.errors.extend(errors)
                    report.warnings.extend(warnings)
                    report.packs_read += 1
                    if on_pack:
                        on_pack(number, len(present))
    return report


def _check_index(repo: Repository, report: CheckReport) -> Index:
    index = Index()
    for index_id in repo.list_files("index"):
        try:
            index.add_wire(cast(IndexWire, repo.load_file("index", index_id)))
        except RepositoryError as exc:
            report.errors.append(f"index file {index_id}: {exc.message}")
    return index


def _check_snapshots(repo: Repository, report: CheckReport, broken_packs: set[str]) -> None:
    seen_trees: set[bytes] = set()  # a tree shared by snapshots is reported once
    for snapshot_id in sorted(repo.list_files("snapshots")):
        try:
            snapshot = Snapshot(snapshot_id, cast(SnapshotWire, repo.load_file("snapshots", snapshot_id)))
        except RepositoryError as exc:
            report.errors.append(f"snapshot {snapshot_id[:8]}: {exc.message}")
            continue
        report.snapshots += 1
        problems: list[str] = []
        for entry in walk(repo, snapshot.tree, seen_trees):
            if entry.problem:
                problems.append(f"directory {entry.path}: {entry.problem}")
                continue
            for blob in () if entry.is_dir else entry.blobs:
                location = repo.index.get(blob)
                if location is None:
                    problems.append(f"{entry.path}: chunk {blob.hex()[:16]} is in no index")
                    break
                if location.pack_id in broken_packs:
                    problems.append(f"{entry.path}: data in missing pack {location.pack_id}")
                    break
        for problem in problems[:_MAX_FILE_ERRORS_PER_SNAPSHOT]:
            report.errors.append(f"snapshot {snapshot.short_id}: {problem}")
        if len(problems) > _MAX_FILE_ERRORS_PER_SNAPSHOT:
            report.errors.append(f"snapshot {snapshot.short_id}: ... and {len(problems) - _MAX_FILE_ERRORS_PER_SNAPSHOT} more")


def _read_pack(repo: Repository, pack_id: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) for one pack, read whole."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        data = repo.store.get(layout.pack_key(pack_id))
    except ObjectNotFoundError:
        return [f"pack {pack_id} is missing"], warnings
    if content_hash(data) != pack_id:
        errors.append(f"pack {pack_id} is corrupt: its content does not hash to its name")
    try:
        header = read_header(data, repo.cipher)
    except (AuthenticationFailed, ValueError) as exc:
        errors.append(f"pack {pack_id} is corrupt: its header does not decrypt ({exc})")
        return errors, warnings
    bad = 0
    for blob in header:
        if repo.index.get(blob.id) is None:
            warnings.append(f"pack {pack_id} holds blob {blob.id.hex()[:16]} that no index names")
        try:
            repo.decode_blob(data[blob.offset : blob.offset + blob.length], blob.id, pack_id)
        except RepositoryError:
            bad += 1
    if bad:
        errors.append(f"pack {pack_id} is corrupt: {bad} of {len(header)} blobs do not decrypt or match their ids")
    return errors, warnings
