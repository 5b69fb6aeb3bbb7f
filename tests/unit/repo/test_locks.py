from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from salvage.repo import layout
from salvage.repo.errors import RepositoryLockedError
from salvage.repo.locks import LockWire, RepositoryLock, list_locks, remove_host_locks, remove_locks
from salvage.repo.repository import Repository
from salvage.storage.errors import StorageError


def test_shared_locks_coexist(repo: Repository) -> None:
    with RepositoryLock(repo, exclusive=False, operation="backup"):
        with RepositoryLock(repo, exclusive=False, operation="backup"):
            assert len(list_locks(repo)) == 2
    assert list_locks(repo) == []


def test_exclusive_conflicts_with_shared_both_ways(repo: Repository) -> None:
    with RepositoryLock(repo, exclusive=False, operation="backup"):
        with pytest.raises(RepositoryLockedError, match="shared lock by backup") as info:
            RepositoryLock(repo, exclusive=True, operation="prune").acquire()
        assert "salvage repo unlock" in (info.value.hint or "")
    with RepositoryLock(repo, exclusive=True, operation="prune"):
        with pytest.raises(RepositoryLockedError, match="exclusive lock by prune"):
            RepositoryLock(repo, exclusive=False, operation="backup").acquire()
    assert list_locks(repo) == []  # the loser removed its own lock


def _plant(repo: Repository, *, age: timedelta, pid: int, hostname: str = "elsewhere") -> str:
    wire: LockWire = {
        "version": 1,
        "time": (datetime.now(timezone.utc) - age).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "exclusive": True,
        "hostname": hostname,
        "pid": pid,
        "operation": "prune",
    }
    return repo.save_file("locks", wire)


def test_stale_locks_are_ignored_and_unlock_removes_them(repo: Repository) -> None:
    import socket

    old = _plant(repo, age=timedelta(hours=2), pid=1)
    dead = _plant(repo, age=timedelta(0), pid=2**22 + 12345, hostname=socket.gethostname())
    live = _plant(repo, age=timedelta(0), pid=1)
    with pytest.raises(RepositoryLockedError):
        RepositoryLock(repo, exclusive=False, operation="backup").acquire()
    repo.store.delete(layout.file_key("locks", live))
    with RepositoryLock(repo, exclusive=False, operation="backup"):
        pass
    assert sorted(remove_locks(repo)) == sorted([old, dead])
    assert list_locks(repo) == []


def test_unlock_all(repo: Repository) -> None:
    _plant(repo, age=timedelta(0), pid=1)
    repo.store.put(layout.file_key("locks", "ff" * 32), b"undecryptable")
    assert len(remove_locks(repo, all_locks=True)) == 2
    assert list(repo.list_files("locks")) == []


def test_the_locks_of_a_host_known_gone_are_removed_and_only_those(repo: Repository) -> None:
    gone = _plant(repo, age=timedelta(0), pid=7, hostname="salvage-backup-r1-abc")
    other = _plant(repo, age=timedelta(0), pid=7, hostname="salvage-backup-r1-def")
    assert remove_host_locks(repo, "salvage-backup-r1-abc") == [gone]
    assert [lock.id for lock in list_locks(repo)] == [other]


class _RefusingDeletes:
    """The repository's store once the credentials lost their rights: nothing can be deleted
    (nor listed, with ``lists=False``)."""

    def __init__(self, inner: object, *, lists: bool = True, deletes: bool = False) -> None:
        self.inner, self.lists, self.deletes = inner, lists, deletes

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def list(self, prefix: str = "") -> object:
        if not self.lists:
            raise StorageError(f"s3://b refused the location's credentials on `{prefix}` (403 Forbidden)")
        return self.inner.list(prefix)  # type: ignore[attr-defined]

    def delete(self, key: str) -> None:
        if not self.deletes:
            raise StorageError(f"s3://b refused the location's credentials on `{key}` (403 Forbidden)")
        self.inner.delete(key)  # type: ignore[attr-defined]


def test_a_lock_that_cannot_be_removed_does_not_hide_why_the_run_stopped(repo: Repository) -> None:
    """Found by tests/faults/test_store_credentials.py: with the credentials revoked mid-backup,
    the error named only the lock the run then failed to delete, not the write that was refused."""
    with pytest.raises(StorageError) as raised:
        with RepositoryLock(repo, exclusive=False, operation="backup") as lock:
            repo.store = _RefusingDeletes(repo.store)  # type: ignore[assignment]
            raise StorageError("s3://b refused the location's credentials on `data/ab` (403 Forbidden)")
    message = raised.value.message
    assert message.startswith("s3://b refused the location's credentials on `data/ab`"), message
    assert f"Its lock `{layout.file_key('locks', lock.lock_id or '')}` could not be removed" in message
    assert "salvage repo unlock" in message


def test_a_lock_that_cannot_be_removed_after_a_run_that_went_well_is_an_error(repo: Repository) -> None:
    with pytest.raises(StorageError, match="refused"):
        with RepositoryLock(repo, exclusive=False, operation="backup"):
            repo.store = _RefusingDeletes(repo.store)  # type: ignore[assignment]


@pytest.mark.parametrize("deletes", [False, True])
def test_a_lock_whose_check_fails_is_removed_or_said_to_be_left(repo: Repository, deletes: bool) -> None:
    """Found by tests/faults/test_store_credentials.py: credentials revoked between writing the
    lock and listing the others left the lock behind, and the error did not say so."""
    inner = repo.store
    repo.store = _RefusingDeletes(inner, lists=False, deletes=deletes)  # type: ignore[assignment]
    with pytest.raises(StorageError) as raised:
        RepositoryLock(repo, exclusive=False, operation="backup").acquire()
    assert raised.value.message.startswith("s3://b refused the location's credentials on `locks/`")
    left = [info.key for info in inner.list("locks/")]
    if deletes:
        assert left == [] and "could not be removed" not in raised.value.message
    else:
        assert len(left) == 1 and f"Its lock `{left[0]}` could not be removed" in raised.value.message
