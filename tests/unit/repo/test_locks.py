from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from salvage.repo import layout
from salvage.repo.errors import RepositoryLockedError
from salvage.repo.locks import LockWire, RepositoryLock, list_locks, remove_host_locks, remove_locks
from salvage.repo.repository import Repository


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
