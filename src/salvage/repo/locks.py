"""Locks: who is using the repository. Backups, restores and checks share; prune is exclusive.

Protocol (both sides write first, then look, so of two racing processes at least one
sees the other): write our lock file, list locks/, and if a live lock conflicts, delete
ours and fail. A lock is stale when it was not refreshed for ``STALE_AFTER``, or when it
names this host and a process that no longer exists; stale locks are ignored and
``salvage repo unlock`` deletes them.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypedDict, cast

from salvage.model.errors import SalvageError
from salvage.repo import layout, timestamps
from salvage.repo.errors import (
    CorruptDataError,
    MissingDataError,
    RepositoryLockedError,
)
from salvage.repo.repository import Repository
from salvage.storage.errors import ObjectNotFoundError

LOCK_VERSION = 1
REFRESH_EVERY = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=30)


class LockWire(TypedDict):
    version: int
    time: str
    exclusive: bool
    hostname: str
    pid: int
    operation: str


@dataclass(frozen=True)
class LockInfo:
    id: str
    wire: LockWire

    @property
    def time(self) -> datetime:
        return timestamps.parse(self.wire["time"])

    def is_stale(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        if now - self.time > STALE_AFTER:
            return True
        if self.wire["hostname"] == socket.gethostname() and not _process_exists(self.wire["pid"]):
            return True
        return False

    def describe(self) -> str:
        kind = "exclusive" if self.wire["exclusive"] else "shared"
        holder = f"pid {self.wire['pid']} on {self.wire['hostname']}"
        return f"{kind} lock by {self.wire['operation']} ({holder}, since {self.wire['time']})"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it exists
    return True


def list_locks(repo: Repository) -> list[LockInfo]:
    found = []
    for lock_id in repo.list_files("locks"):
        try:
            found.append(LockInfo(lock_id, cast(LockWire, repo.load_file("locks", lock_id))))
        except (MissingDataError, ObjectNotFoundError):
            continue  # released while we listed
        except CorruptDataError:
            continue  # not ours to judge; `unlock --remove-all` clears it
    return found


class RepositoryLock:
    """A held lock, refreshed in the background until released (use as a context manager)."""

    def __init__(self, repo: Repository, *, exclusive: bool, operation: str) -> None:
        self.repo = repo
        self.exclusive = exclusive
        self.operation = operation
        self.lock_id: str | None = None
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._mutex = threading.Lock()

    def _write(self) -> str:
        wire: LockWire = {
            "version": LOCK_VERSION,
            "time": timestamps.utc_now(),
            "exclusive": self.exclusive,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "operation": self.operation,
        }
        return self.repo.save_file("locks", wire)

    def acquire(self) -> RepositoryLock:
        if self.repo.read_only:
            if self.exclusive:
                self.repo.refuse_if_read_only(self.operation)
            # Readers of a read-only location cannot lock; nobody may prune it from here either.
            return self
        self.lock_id = self._write()
        try:
            others = list_locks(self.repo)
        except BaseException as exc:  # ours is written: not left behind unsaid (or at all, if it can go)
            self.release_after(exc)
            raise
        for other in others:
            if other.id == self.lock_id or other.is_stale():
                continue
            if self.exclusive or other.wire["exclusive"]:
                self._delete()
                raise RepositoryLockedError(
                    f"the repository is in use: {other.describe()}",
                    hint="Wait for it to finish; if that process is gone, run `salvage repo unlock`.",
                )
        self._refresher = threading.Thread(target=self._refresh_loop, name="salvage-lock-refresh", daemon=True)
        self._refresher.start()
        return self

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_EVERY.total_seconds()):
            with self._mutex:
                # Write-once: a new lock file first, then drop the old one, so we are never unlocked.
                old, self.lock_id = self.lock_id, self._write()
                if old:
                    self.repo.store.delete(layout.file_key("locks", old))

    def _delete(self) -> None:
        if self.lock_id:
            self.repo.store.delete(layout.file_key("locks", self.lock_id))
            self.lock_id = None

    def release(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(timeout=30)
        with self._mutex:
            self._delete()

    def release_after(self, failure: BaseException | None) -> None:
        """Release, when the run ends by ``failure`` (or None). A release that fails then
        (the store out of reach, the credentials revoked) must not hide why the run
        stopped: the run's error says the lock stayed, and it goes stale with the process."""
        try:
            self.release()
        except SalvageError as exc:
            if failure is None:
                raise
            if isinstance(failure, SalvageError) and self.lock_id:
                failure.message += (f"\nIts lock `{layout.file_key('locks', self.lock_id)}` could not be removed "
                                    f"({exc.message}); it is stale once this process has ended, and "
                                    "`salvage repo unlock` removes it.")

    def __enter__(self) -> RepositoryLock:
        return self.acquire() if self.lock_id is None else self

    def __exit__(self, _type: object, failure: BaseException | None, _tb: object) -> None:
        self.release_after(failure)


def remove_locks(repo: Repository, *, all_locks: bool = False) -> list[str]:
    """Delete stale locks (or every lock); returns the ids removed."""
    removed = []
    if all_locks:
        # Also the ones that do not decrypt, which list_locks skips.
        for lock_id in list(repo.list_files("locks")):
            repo.store.delete(layout.file_key("locks", lock_id))
            removed.append(lock_id)
        return removed
    for lock in list_locks(repo):
        if lock.is_stale():
            repo.store.delete(layout.file_key("locks", lock.id))
            removed.append(lock.id)
    return removed


def remove_host_locks(repo: Repository, hostname: str) -> list[str]:
    """Delete the locks of ``hostname``, a machine the caller knows is gone with all its
    processes (a data-mover pod that was deleted): they would otherwise hold up prune and
    deletion until they go stale."""
    removed = []
    for lock in list_locks(repo):
        if lock.wire["hostname"] == hostname:
            repo.store.delete(layout.file_key("locks", lock.id))
            removed.append(lock.id)
    return removed
