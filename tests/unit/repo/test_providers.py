"""The repository on every store provider, and a store that fails mid-backup."""

from __future__ import annotations

from pathlib import Path

import pytest

from salvage.repo.backup import backup
from salvage.repo.check import check
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot, list_snapshots
from salvage.storage.errors import StorageError
from salvage.storage.memory import MemoryStore

from ..storage.conftest import STORE_FACTORIES
from .conftest import PASSWORD, assert_round_trip, describe, make_repo, random_bytes


@pytest.mark.parametrize("provider", sorted(STORE_FACTORIES))
def test_round_trip_on_every_provider(provider: str, tmp_path: Path) -> None:
    assert_round_trip(STORE_FACTORIES[provider](tmp_path), tmp_path)


class FillingStore(MemoryStore):
    """A store whose disk fills up after a number of pack uploads."""

    def __init__(self, packs_allowed: int) -> None:
        super().__init__()
        self.packs_allowed = packs_allowed

    def put(self, key: str, data: bytes) -> None:
        if key.startswith("data/"):
            if self.packs_allowed <= 0:
                raise StorageError(f"no space left on the device while writing `{key}`")
            self.packs_allowed -= 1
        super().put(key, data)


def test_a_full_store_fails_the_backup_and_loses_nothing(tmp_path: Path) -> None:
    store = FillingStore(packs_allowed=1000)
    repo = make_repo(store)
    source = tmp_path / "src"
    source.mkdir()
    (source / "first").write_bytes(random_bytes(200_000, 1))
    backup(repo, source)
    (source / "second").write_bytes(random_bytes(400_000, 2))
    store.packs_allowed = 2
    with pytest.raises(StorageError, match="no space left"):
        backup(repo, source)
    assert len(list_snapshots(repo)) == 1  # no half snapshot
    assert list(repo.list_files("locks")) == []  # and no lock left behind
    reopened = Repository.open(store, PASSWORD)
    assert check(reopened, read_data=True).ok
    store.packs_allowed = 1000
    backup(reopened, source)
    restore(reopened, find_snapshot(reopened, "latest"), tmp_path / "out")
    assert describe(tmp_path / "out") == describe(source)
