"""Undo what one restore or recovery created, when damaged backup data stops it halfway.

Only what the run created itself is recorded (a create that found the object already
there is not), so a rollback never removes anything that existed before it. Objects are
deleted newest first (claims before the namespace that holds them), then waited for until
they are gone, so the report says what is really left.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from salvage.k8s.client import KubeClient
from salvage.k8s.waits import wait_for
from salvage.model.errors import KubernetesError, SalvageError
from salvage.repo.errors import CorruptDataError, MissingDataError, RestoreIncompleteError

# Errors that stop a run and roll it back: the backup's data is damaged or missing. (A full
# target or an unreachable volume is not the backup's fault: the run goes on as before.)
DATA_ERRORS = (CorruptDataError, MissingDataError, RestoreIncompleteError)


@dataclass(frozen=True)
class Created:
    path: str   # the object's API path
    label: str  # for the report: "PersistentVolumeClaim wp/data-pg-0"
    # False: not deleted, only waited for (a claim's dynamically provisioned volume, which
    # its provisioner removes once the claim is gone, reclaim policy Delete).
    delete: bool = True


@dataclass
class RollbackResult:
    removed: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)  # still being deleted when time ran out


class Creations:
    """What one run created, in order; thread-safe (restore creates objects in parallel)."""

    def __init__(self) -> None:
        self._items: list[Created] = []
        self._lock = threading.Lock()

    def add(self, path: str, label: str, *, delete: bool = True) -> None:
        with self._lock:
            self._items.append(Created(path, label, delete))

    def labels(self) -> list[str]:
        with self._lock:
            return [c.label for c in self._items]

    def roll_back(self, client: KubeClient, *, timeout: float) -> RollbackResult:
        with self._lock:
            items = list(reversed(self._items))
        result = RollbackResult()
        for item in items:
            if item.delete:
                try:
                    client.delete_if_present(item.path)
                except KubernetesError as exc:
                    result.remaining.append(f"{item.label} (could not be deleted: {exc.message})")
        deadline = time.monotonic() + timeout
        for item in items:
            try:
                wait_for(client, item.path, lambda obj: obj is None, deadline, f"{item.label} to be deleted")
                result.removed.append(item.label)
            except SalvageError:  # not gone in time, or the API refuses to say
                if not any(r.startswith(item.label + " (") for r in result.remaining):
                    result.remaining.append(f"{item.label} (still being deleted)")
        return result

