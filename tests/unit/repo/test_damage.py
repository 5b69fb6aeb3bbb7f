"""Missing and corrupt packs: check names them; restore refuses exactly the affected files."""

from __future__ import annotations

from pathlib import Path

import pytest

from salvage.repo import layout
from salvage.repo.backup import backup
from salvage.repo.check import check
from salvage.repo.errors import RestoreIncompleteError
from salvage.repo.index import BlobLocation
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot
from salvage.repo.tree import decode_tree
from salvage.storage.memory import MemoryStore

from .conftest import random_bytes


def _two_files(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.bin").write_bytes(random_bytes(100_000, 1))
    backup(repo, source)
    # A second backup puts b.bin's data in packs of its own, so damage can hit one file only.
    (source / "b.bin").write_bytes(random_bytes(100_000, 2))
    backup(repo, source)


def _first_chunk(repo: Repository, name: str) -> BlobLocation:
    snapshot = find_snapshot(repo, "latest")
    nodes = {n["name"]: n for n in decode_tree(repo.read_blob(snapshot.tree))}
    location = repo.index.get(bytes.fromhex(nodes[name]["content"][0]))
    assert location is not None
    return location


def _pack_of(repo: Repository, name: str) -> str:
    return _first_chunk(repo, name).pack_id


def test_a_healthy_repository_checks_clean(repo: Repository, tmp_path: Path) -> None:
    _two_files(repo, tmp_path)
    report = check(repo, read_data=True)
    assert report.ok, report.errors
    assert report.warnings == []
    assert report.packs_read == report.packs > 1


def test_missing_pack_is_named_and_restore_refuses_those_files(repo: Repository, tmp_path: Path) -> None:
    _two_files(repo, tmp_path)
    pack = _pack_of(repo, "a.bin")
    assert pack != _pack_of(repo, "b.bin")
    repo.store.delete(layout.pack_key(pack))
    report = check(repo)
    assert any(f"pack {pack} is missing" in e for e in report.errors)
    assert any("/a.bin: data in missing pack" in e for e in report.errors)
    out = tmp_path / "out"
    with pytest.raises(RestoreIncompleteError, match="refused 1") as info:
        restore(repo, find_snapshot(repo, "latest"), out)
    assert "a.bin" in info.value.message and pack in info.value.message
    assert (out / "b.bin").read_bytes() == random_bytes(100_000, 2)
    assert not (out / "a.bin").exists()


def test_corrupt_pack_is_named_by_read_data_and_refused_on_restore(repo: Repository, tmp_path: Path) -> None:
    _two_files(repo, tmp_path)
    chunk = _first_chunk(repo, "a.bin")
    pack = chunk.pack_id
    store = repo.store
    assert isinstance(store, MemoryStore)
    data = bytearray(store.get(layout.pack_key(pack)))
    data[chunk.offset + 50] ^= 0xFF  # inside a.bin's first chunk, whatever else shares the pack
    store.corrupt(layout.pack_key(pack), bytes(data))
    assert check(repo).ok  # structure alone cannot see flipped bits
    report = check(repo, read_data=True)
    assert any(f"pack {pack} is corrupt" in e for e in report.errors)
    out = tmp_path / "out"
    with pytest.raises(RestoreIncompleteError, match="a.bin") as info:
        restore(repo, find_snapshot(repo, "latest"), out)
    assert "b.bin" not in info.value.message
    assert not (out / "a.bin").exists()
    assert not list(out.glob("*.salvage-restore"))


def test_leftover_pack_is_a_warning_not_an_error(repo: Repository, tmp_path: Path) -> None:
    _two_files(repo, tmp_path)
    repo.store.put(layout.pack_key("ab" * 32), b"leftover of a crash")
    report = check(repo)
    assert report.ok
    assert any("in no index" in w for w in report.warnings)


def test_damaged_snapshot_file_is_named(repo: Repository, tmp_path: Path) -> None:
    _two_files(repo, tmp_path)
    snapshot_id = find_snapshot(repo, "latest").id
    store = repo.store
    assert isinstance(store, MemoryStore)
    store.corrupt(layout.file_key("snapshots", snapshot_id), b"garbage" * 10)
    report = check(repo)
    assert any(snapshot_id[:8] in e and "damaged" in e for e in report.errors)
