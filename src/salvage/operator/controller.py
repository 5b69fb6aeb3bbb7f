"""The operator's loop: win the Lease, then watch each resource and hand every changed
object to its reconciler on a few worker threads; renew the Lease while working and stop
the moment it is lost (the pod restarts and waits its turn as a standby).

One object is reconciled by one worker at a time: a change seen while it is being
reconciled is kept and handled after. Reconcilers are level-triggered (they read the object
and act on its phase), so a missed or repeated event does no harm."""

from __future__ import annotations

import heapq
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from salvage.k8s.lease import LeaderElector
from salvage.k8s.watch import changes
from salvage.model.errors import SalvageError
from salvage.operator.context import JSON, OperatorContext
from salvage.operator.crds import collection

log = logging.getLogger("salvage.operator")

LEASE_NAME = "salvage-operator"
Key = tuple[str, str]  # (plural, name)


class Reconciler(Protocol):
    """One per resource. It may also have ``forget(obj)``, called when an object of its
    resource is deleted (to drop what it keeps about it, e.g. a schedule's metrics)."""

    plural: str

    def reconcile(self, obj: JSON) -> float | None:
        """Act on the object; seconds until it wants another look, or None."""


def new_identity() -> str:
    """This process, unique even when a pod of the same name restarts."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}-{secrets.token_hex(3)}"


class LeadershipLost(SalvageError):
    """Another operator holds the Lease now; this one must stop working."""


@dataclass
class _WorkQueue:
    """Keys to reconcile: each at most once in the queue and once in flight; a key changed
    while in flight is queued again when its worker finishes."""

    ready: list[Key] = field(default_factory=list)
    timers: list[tuple[float, Key]] = field(default_factory=list)
    in_flight: set[Key] = field(default_factory=set)
    dirty: set[Key] = field(default_factory=set)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, key: Key) -> None:
        with self.cond:
            if key in self.in_flight:
                self.dirty.add(key)
            elif key not in self.ready:
                self.ready.append(key)
                self.cond.notify()

    def add_after(self, key: Key, seconds: float) -> None:
        with self.cond:
            heapq.heappush(self.timers, (time.monotonic() + seconds, key))
            self.cond.notify()

    def take(self, stop: threading.Event) -> Key | None:
        with self.cond:
            while not stop.is_set():
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    key = heapq.heappop(self.timers)[1]
                    if key not in self.ready and key not in self.in_flight:
                        self.ready.append(key)
                if self.ready:
                    key = self.ready.pop(0)
                    self.in_flight.add(key)
                    return key
                wait = min(1.0, self.timers[0][0] - now) if self.timers else 1.0
                self.cond.wait(max(wait, 0.01))
            return None

    def done(self, key: Key) -> None:
        with self.cond:
            self.in_flight.discard(key)
            if key in self.dirty:
                self.dirty.discard(key)
                self.ready.append(key)
                self.cond.notify()

    def busy(self) -> bool:
        with self.cond:
            return bool(self.in_flight)

    def wake_all(self) -> None:
        with self.cond:
            self.cond.notify_all()


class Controller:
    def __init__(self, ctx: OperatorContext, reconcilers: Sequence[Reconciler], *, workers: int = 4,
                 lease_seconds: int = 15, renew_seconds: float = 5.0, resync_seconds: int = 300,
                 drain_seconds: float = 25.0) -> None:
        self.ctx, self.drain_seconds = ctx, drain_seconds
        self.reconcilers = {r.plural: r for r in reconcilers}
        self.workers, self.renew_seconds, self.resync_seconds = workers, renew_seconds, resync_seconds
        self.elector = LeaderElector(ctx.client, ctx.namespace, LEASE_NAME, ctx.identity, lease_seconds=lease_seconds)
        self.queue = _WorkQueue()
        self.leading = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Wait for the Lease, then work until ``stop`` is set; raises LeadershipLost if the
        Lease goes to another operator."""
        log.info("operator %s waiting for Lease %s/%s", self.ctx.identity, self.ctx.namespace, LEASE_NAME)
        while not stop.is_set() and not self._renew():
            stop.wait(self.renew_seconds)
        if stop.is_set():
            return
        self.leading.set()
        log.info("operator %s leads; reconciling %s", self.ctx.identity, ", ".join(self.reconcilers))
        work = threading.Event()  # set when this run ends, for whatever reason
        threads = [threading.Thread(target=self._watch, args=(plural, work), name=f"watch-{plural}", daemon=True)
                   for plural in self.reconcilers]
        threads += [threading.Thread(target=self._work, args=(work,), name=f"worker-{i}", daemon=True)
                    for i in range(self.workers)]
        for thread in threads:
            thread.start()
        try:
            while not stop.wait(self.renew_seconds):
                if not self._renew():
                    raise LeadershipLost(f"Operator {self.ctx.identity} lost Lease {LEASE_NAME} to "
                                         f"{self.elector.holder()}; stopping.")
        finally:
            work.set()  # watches end, idle workers leave; busy ones finish their object
            self.queue.wake_all()
            if stop.is_set():  # a clean stop (SIGTERM): let runs in flight end, then hand over
                self._drain()
                self.elector.release()
            self.leading.clear()

    def _drain(self) -> None:
        """Wait (up to ``drain_seconds``, within the pod's grace period) for the backups and
        restores in flight, renewing the Lease meanwhile so no standby fails them."""
        deadline = time.monotonic() + self.drain_seconds
        while self.queue.busy() and time.monotonic() < deadline:
            if not self._renew():
                return
            time.sleep(min(0.2, self.renew_seconds))
        if self.queue.busy():
            log.warning("stopping with work in flight; the next leader settles it")

    def _renew(self) -> bool:
        try:
            return self.elector.try_acquire_or_renew()
        except SalvageError as exc:
            log.warning("Lease %s: %s", LEASE_NAME, exc.message)
            return False

    def _watch(self, plural: str, stop: threading.Event) -> None:
        path = collection(plural, self.ctx.namespace)
        while not stop.is_set():
            try:
                for kind, obj in changes(self.ctx.client, path, stop, timeout_seconds=self.resync_seconds):
                    if kind != "DELETED":
                        self.queue.add((plural, obj["metadata"]["name"]))
                    elif (forget := getattr(self.reconcilers[plural], "forget", None)) is not None:
                        forget(obj)  # what a reconciler keeps about an object that is gone
            except SalvageError as exc:
                log.warning("watching %s: %s", plural, exc.message)
                stop.wait(2.0)

    def _work(self, stop: threading.Event) -> None:
        while (key := self.queue.take(stop)) is not None:
            plural, name = key
            try:
                obj = self.ctx.find(plural, name)
                again = self.reconcilers[plural].reconcile(obj) if obj is not None else None
                if obj is None and (forget := getattr(self.reconcilers[plural], "forget", None)) is not None:
                    # deleted while a reconcile of it ran (which may have set what DELETED dropped)
                    forget({"metadata": {"name": name}})
            except Exception:  # noqa: BLE001 - one object's failure must not stop the operator
                log.exception("reconciling %s %s failed; retrying in 10s", plural, name)
                again = 10.0
            finally:
                self.queue.done(key)
            if again is not None and not stop.is_set():
                self.queue.add_after(key, again)
