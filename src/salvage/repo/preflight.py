"""Before a restore writes anything: does the repository hold everything some snapshots need?

For each snapshot: the snapshot file (read whole, checked against its content-addressed
name, decrypted); every directory tree below it (read, decrypted, checked against its id);
an index entry for every chunk of every file; every pack those chunks and trees are in,
present with exactly the size its index entry implies. Tree packs are small next to the
data, so they are read whole and checked against their names too. With ``read_data``, so
is every data pack: then no damage the store can hold goes unnoticed; without it, a
flipped byte inside a data pack is found only when its file is restored.

Only reads; takes no lock (the restore that follows takes its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from salvage.repo import layout
from salvage.repo.crypto import content_hash
from salvage.repo.errors import DamagedSnapshotError, RepositoryError
from salvage.repo.repository import Repository
from salvage.repo.snapshots import Snapshot, SnapshotWire
from salvage.repo.treewalk import walk
from salvage.storage.errors import ObjectNotFoundError

_FILES_NAMED = 5  # per damaged pack
_PROBLEMS_SHOWN = 20


@dataclass
class _Users:
    """The files (and directories) that need one pack: the first few by name, and how many."""

    names: list[str] = field(default_factory=list)
    count: int = 0
    trees: bool = False

    def add(self, name: str) -> None:
        self.count += 1
        if len(self.names) < _FILES_NAMED:
            self.names.append(name)

    def __str__(self) -> str:
        more = f" and {self.count - len(self.names)} more" if self.count > len(self.names) else ""
        return ", ".join(self.names) + more


@dataclass(frozen=True)
class PreflightReport:
    snapshots: int
    files: int
    packs: int
    packs_hashed: int
    bytes_hashed: int


def check_restorable(repo: Repository, snapshots: Mapping[str, str], *, read_data: bool = False,
                     on_pack: Callable[[int, int], None] | None = None) -> PreflightReport:
    """Check the snapshots ``snapshots`` names (id → a label for messages, e.g. the volume);
    raise :class:`DamagedSnapshotError` naming every problem and the files it affects."""
    problems: list[str] = []
    packs: dict[str, _Users] = {}
    files = 0
    seen: set[bytes] = set()
    for snapshot_id, label in snapshots.items():
        try:
            snapshot = Snapshot(snapshot_id, cast(SnapshotWire, repo.load_file("snapshots", snapshot_id)))
        except RepositoryError as exc:
            problems.append(f"{label}: {exc.message}")
            continue
        for entry in walk(repo, snapshot.tree, seen):
            name = f"{label}:{entry.path}"
            if entry.problem:
                problems.append(f"{name}: its directory listing cannot be read ({entry.problem})")
                continue
            files += not entry.is_dir
            for blob in entry.blobs:
                location = repo.index.get(blob)
                if location is None:
                    problems.append(f"{name}: chunk {blob.hex()[:16]} is in no index")
                    break
                users = packs.setdefault(location.pack_id, _Users())
                users.trees |= entry.is_dir
                if users.names[-1:] != [name]:
                    users.add(name)
    problems += _check_packs(repo, packs)
    hashed = [p for p, users in packs.items() if users.trees or read_data]
    if not problems:
        problems += _hash_packs(repo, {p: packs[p] for p in hashed}, on_pack)
    if problems:
        shown = "\n  ".join(problems[:_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(problems) - _PROBLEMS_SHOWN} more" if len(problems) > _PROBLEMS_SHOWN else ""
        raise DamagedSnapshotError(
            f"the repository is missing or has damaged data that {', '.join(sorted(set(snapshots.values())))} "
            f"need(s):\n  {shown}{more}",
            problems=problems,
            hint="Nothing was restored. Run `salvage repo check --read-data` to see all damage; "
                 "restore from another backup.")
    return PreflightReport(len(snapshots), files, len(packs), len(hashed),
                           sum(repo.index.pack_size(p) or 0 for p in hashed))


def _check_packs(repo: Repository, packs: dict[str, _Users]) -> list[str]:
    stored = repo.pack_sizes()
    problems = []
    for pack_id, users in sorted(packs.items()):
        size, expected = stored.get(pack_id), repo.index.pack_size(pack_id)
        if size is None:
            problems.append(f"pack {pack_id} is missing; needed by {users}")
        elif size != expected:
            problems.append(f"pack {pack_id} is {size} bytes, not {expected} as its index says; needed by {users}")
    return problems


def _hash_packs(repo: Repository, packs: dict[str, _Users], on_pack: Callable[[int, int], None] | None) -> list[str]:
    def damage(pack_id: str) -> str:
        try:
            data = repo.store.get(layout.pack_key(pack_id))
        except ObjectNotFoundError:
            return f"pack {pack_id} is missing; needed by {packs[pack_id]}"
        if content_hash(data) != pack_id:
            return f"pack {pack_id} is damaged (its content does not hash to its name); needed by {packs[pack_id]}"
        return ""

    problems = []
    # One pack in memory per worker (up to pack_size each); hashing releases the GIL.
    with ThreadPoolExecutor(max_workers=min(4, max(2, os.cpu_count() or 2))) as pool:
        for number, problem in enumerate(pool.map(damage, sorted(packs)), 1):
            if problem:
                problems.append(problem)
            if on_pack:
                on_pack(number, len(packs))
    return problems
