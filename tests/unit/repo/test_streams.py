"""Streamed files (repo/streams.py): a dump's bytes into a snapshot, deduplicated, and back."""

from __future__ import annotations

import hashlib
import io

import pytest

from salvage.repo.check import check
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot, list_snapshots
from salvage.repo.streams import StreamedSnapshot, read_streamed, streamed_files
from salvage.storage.memory import MemoryStore
from tests.unit.repo.conftest import make_repo, random_bytes


class Broken(io.RawIOBase):
    """A stream that fails after some bytes, as an exec connection that drops."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        got = self.inner.readinto(buffer)
        if not got:
            raise ConnectionError("stream broke")
        return got


def test_streams_round_trip_with_their_digests(repo: Repository, tmp_path) -> None:
    dump = random_bytes(300_000, 1)
    with StreamedSnapshot(repo, path="/postgresql/ns/pg-0", tags=["backup=b1"]) as snap:
        added = snap.add("app.dump", io.BytesIO(dump))
        snap.add_bytes("globals.sql", b"CREATE ROLE app;\n")
        result = snap.commit()
    assert added.size == len(dump) and added.sha256 == hashlib.sha256(dump).hexdigest()
    snapshot = find_snapshot(repo, result.snapshot_id)
    files = streamed_files(repo, snapshot)
    assert sorted(files) == ["app.dump", "globals.sql"]
    assert b"".join(read_streamed(repo, files["app.dump"])) == dump
    # An ordinary snapshot: check reads it, and fs restore writes its files.
    assert not check(repo, read_data=True).errors
    restore(repo, snapshot, tmp_path / "out")
    assert (tmp_path / "out" / "globals.sql").read_bytes() == b"CREATE ROLE app;\n"


def test_a_second_day_adds_only_the_changed_chunks(repo: Repository) -> None:
    day1 = random_bytes(400_000, 2)
    day2 = day1[:200_000] + b"a few new rows" + day1[200_000:]
    added = []
    for dump in (day1, day2):
        with StreamedSnapshot(repo, path="/db") as snap:
            snap.add("db.dump", io.BytesIO(dump))
            added.append(snap.commit().summary["bytes_added"])
    assert added[1] < added[0] / 3


def test_a_broken_stream_leaves_no_snapshot(repo: Repository) -> None:
    with pytest.raises(ConnectionError):
        with StreamedSnapshot(repo, path="/db") as snap:
            snap.add("db.dump", Broken(random_bytes(100_000, 3)))
            snap.commit()
    assert list_snapshots(repo) == []
    assert not list(repo.list_files("locks")), "the lock is released"


class FullStore(MemoryStore):
    """A store that fills up: pack uploads fail (as the issue's "store full" fault)."""

    def put(self, key: str, data: bytes) -> None:
        if key.startswith("data/"):
            raise OSError(28, "No space left on device")
        super().put(key, data)


def test_a_store_that_fills_up_fails_the_stream_and_leaves_no_snapshot() -> None:
    repo = make_repo(FullStore())
    with pytest.raises(OSError, match="No space left"):
        with StreamedSnapshot(repo, path="/db") as snap:
            snap.add("db.dump", io.BytesIO(random_bytes(500_000, 4)))
            snap.commit()
    assert list_snapshots(repo) == []
