"""The location's repository, created on a backup's first use: two backups that start
together on a new location both get the one repository, whichever created it (before, the
loser's volume was not captured: "got a repository from someone else while we created
ours"), and no key of a repository that never was is left behind."""

from __future__ import annotations

from salvage.repo import layout
from salvage.repo.repository import Repository
from salvage.storage.memory import MemoryStore
from salvage.storage.prefixed import PrefixedStore
from salvage.volumes.location_repository import REPOSITORY_PREFIX, repository

PASSWORD = "two at once"


class _Racing(MemoryStore):
    """A location where another backup creates the repository between our look and our write."""

    def __init__(self) -> None:
        super().__init__()
        self.winner: Repository | None = None

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if key.endswith(layout.CONFIG) and self.winner is None:
            self.winner = Repository.init(PrefixedStore(_Plain(self), REPOSITORY_PREFIX), PASSWORD)
        return super().put_if_absent(key, data)


class _Plain:
    """The same objects without the race (what the other backup writes through)."""

    def __init__(self, inner: _Racing) -> None:
        self.inner = inner

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if name == "put_if_absent":
            return lambda key, data: MemoryStore.put_if_absent(self.inner, key, data)
        return getattr(self.inner, name)


def test_a_backup_that_loses_the_race_to_create_the_repository_uses_the_winners() -> None:
    store = _Racing()
    repo = repository(store, PASSWORD, create=True)
    assert store.winner is not None and repo.config.id == store.winner.config.id
    keys = [i.key for i in store.list(f"{REPOSITORY_PREFIX}/{layout.file_prefix('keys')}")]
    assert len(keys) == 1, keys
    assert repository(store, PASSWORD, create=False).config.id == store.winner.config.id
