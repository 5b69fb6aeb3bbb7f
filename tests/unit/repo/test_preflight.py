"""The restore preflight: every object of a repository damaged in turn (flipped, truncated,
deleted) is refused before a restore writes anything, naming the files it affects; the
one damage it lets through without --verify-data (bytes inside a data pack) is refused by
the restore itself, file by file, or, where the restore reads no damaged byte, changes
nothing restored."""

from __future__ import annotations

from pathlib import Path

import pytest

from salvage.model.errors import SalvageError
from salvage.repo import layout
from salvage.repo.backup import backup
from salvage.repo.errors import DamagedSnapshotError, RestoreIncompleteError
from salvage.repo.preflight import check_restorable
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot
from salvage.storage.memory import MemoryStore
from tests.support.damage import DAMAGES, damage

from .conftest import PASSWORD, build_tree, describe, make_repo


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryStore, str, Path]:
    store = MemoryStore()
    repo = make_repo(store)
    source = build_tree(tmp_path_factory.mktemp("src"))
    snapshot = backup(repo, source).snapshot_id
    return store, snapshot, source


def _preflight(store: MemoryStore, snapshot: str, *, read_data: bool) -> None:
    check_restorable(Repository.open(store, PASSWORD), {snapshot: "volume wp/data"}, read_data=read_data)


def test_a_healthy_snapshot_passes_and_reads_every_pack_only_when_asked(backed_up) -> None:
    store, snapshot, _source = backed_up
    repo = Repository.open(store, PASSWORD)
    quick = check_restorable(repo, {snapshot: "volume wp/data"})
    full = check_restorable(repo, {snapshot: "volume wp/data"}, read_data=True)
    assert quick.files > 5 and quick.packs == full.packs == len(repo.pack_sizes())
    assert 0 < quick.packs_hashed < full.packs_hashed == full.packs, "tree packs always; data packs when asked"


def _objects(store: MemoryStore) -> list[str]:
    return sorted(info.key for info in store.list())


def test_every_damage_to_every_object_is_refused_with_verify_data(backed_up) -> None:
    store, snapshot, _source = backed_up
    cases = 0
    for key in _objects(store):
        for how in DAMAGES:
            with damage(store, key, how), pytest.raises(SalvageError):
                _preflight(store, snapshot, read_data=True)
            cases += 1
    assert cases == 3 * len(_objects(store)) >= 3 * 6


def test_without_verify_data_only_bytes_inside_data_packs_get_through(backed_up, tmp_path: Path) -> None:
    store, snapshot, source = backed_up
    repo = Repository.open(store, PASSWORD)
    data_packs = {p for _b, loc in repo.index.items() if loc.type == "data" for p in [loc.pack_id]}
    through = []
    for key in _objects(store):
        for how in DAMAGES:
            with damage(store, key, how):
                try:
                    _preflight(store, snapshot, read_data=False)
                except SalvageError:
                    continue
                through.append((key, how))
                out = tmp_path / f"{len(through)}"
                damaged_repo = Repository.open(store, PASSWORD)
                try:
                    restore(damaged_repo, find_snapshot(damaged_repo, snapshot), out)
                except RestoreIncompleteError as exc:
                    assert "whose data is damaged or missing" in exc.message and "dir/" in exc.message
                    continue
                assert describe(out) == describe(source), "what a restore read undamaged is the backup"
    assert through and all(how == "flip" and layout.pack_id_of(key) in data_packs for key, how in through)


def test_a_flip_in_a_data_packs_header_matters_only_to_verify_data(backed_up, tmp_path: Path) -> None:
    """Restore never reads a pack's header (the index says where each blob is), so damage
    there leaves every restored byte right; --verify-data still refuses it."""
    store, snapshot, source = backed_up
    repo = Repository.open(store, PASSWORD)
    pack = next(loc.pack_id for _b, loc in repo.index.items() if loc.type == "data")
    with damage(store, layout.pack_key(pack), "flip", at=repo.index.pack_size(pack) - 10):
        with pytest.raises(DamagedSnapshotError, match=f"pack {pack} is damaged"):
            _preflight(store, snapshot, read_data=True)
        _preflight(store, snapshot, read_data=False)
        restore(repo, find_snapshot(repo, snapshot), tmp_path / "out")
    assert describe(tmp_path / "out") == describe(source)


def test_the_refusal_names_the_object_and_the_files(backed_up) -> None:
    store, snapshot, _source = backed_up
    repo = Repository.open(store, PASSWORD)
    pack = next(loc for _b, loc in repo.index.items() if loc.type == "data")
    with damage(store, layout.pack_key(pack.pack_id), "truncate"), \
            pytest.raises(DamagedSnapshotError) as info:
        _preflight(store, snapshot, read_data=False)
    message = info.value.message
    assert f"pack {pack.pack_id} is" in message and "not" in message and "as its index says" in message
    assert "volume wp/data:/dir/" in message, "the files that need the pack are named"
    with damage(store, layout.file_key("snapshots", snapshot), "delete"), \
            pytest.raises(DamagedSnapshotError, match=f"volume wp/data: snapshots/{snapshot} is missing"):
        _preflight(store, snapshot, read_data=False)
