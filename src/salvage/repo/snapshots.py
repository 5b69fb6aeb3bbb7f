"""Snapshots: one encrypted file per backup, naming the root tree. Written last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, cast

from salvage.repo import timestamps
from salvage.repo.errors import SnapshotNotFoundError, UsageErrorInRepo
from salvage.repo.repository import Repository
from salvage.repo.tree import NodeWire

SNAPSHOT_VERSION = 1


class SummaryWire(TypedDict):
    started: str
    finished: str
    files_new: int
    files_changed: int
    files_unmodified: int
    dirs: int
    bytes_processed: int
    bytes_added: int
    blobs_added: int
    total_files: int
    total_bytes: int
    errors: list[str]
    error_count: int


class SnapshotWire(TypedDict):
    version: int
    time: str
    hostname: str
    username: str
    paths: list[str]
    tags: list[str]
    parent: str | None
    tree: str
    root: NodeWire
    program: str
    summary: SummaryWire


@dataclass(frozen=True)
class Snapshot:
    id: str
    wire: SnapshotWire

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def time(self) -> datetime:
        return timestamps.parse(self.wire["time"])

    @property
    def tree(self) -> bytes:
        return bytes.fromhex(self.wire["tree"])


def list_snapshots(repo: Repository) -> list[Snapshot]:
    """Every snapshot, oldest first."""
    found = [
        Snapshot(snapshot_id, cast(SnapshotWire, repo.load_file("snapshots", snapshot_id)))
        for snapshot_id in repo.list_files("snapshots")
    ]
    return sorted(found, key=lambda s: (s.wire["time"], s.id))


def find_snapshot(repo: Repository, ref: str) -> Snapshot:
    """``latest`` or a unique prefix of a snapshot id."""
    if ref == "latest":
        snapshots = list_snapshots(repo)
        if not snapshots:
            raise SnapshotNotFoundError("the repository has no snapshots", hint="Run `salvage fs backup` first.")
        return snapshots[-1]
    matches = [i for i in repo.list_files("snapshots") if i.startswith(ref)]
    if not matches:
        raise SnapshotNotFoundError(
            f"no snapshot {ref!r} in {repo.store.url}",
            hint="List them with `salvage repo snapshots`.",
        )
    if len(matches) > 1:
        raise UsageErrorInRepo(f"snapshot prefix {ref!r} is ambiguous ({len(matches)} match)", hint="Give more characters.")
    return Snapshot(matches[0], cast(SnapshotWire, repo.load_file("snapshots", matches[0])))
