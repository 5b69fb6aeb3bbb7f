"""The scratch namespaces of restore drills: how a drill marks the ones it makes, shows it
is still alive while it runs, and how those a killed drill left are found and removed.

Every namespace a drill's restore creates carries the label ``salvage.io/drill-scratch=true``
and annotations naming the drill, its backup, its owner (a Drill resource, or "" for the
command line) and its runner (the operator's identity, or ``HOST:PID`` of a ``drill run``).
Only namespaces with that label are ever swept: a namespace the user made has none, and the
restore engine never maps onto one that exists. While a drill runs it renews
``salvage.io/heartbeat`` on its namespaces every ``HEARTBEAT_EVERY`` seconds; a run killed
outright (SIGKILL, a lost machine, an operator pod deleted) stops renewing it. A namespace
kept on purpose (``--keep-on-failure``) is annotated ``salvage.io/drill-kept`` and never swept.

Removing a drill's namespaces removes everything it made, but for the volumes their claims
bound when the storage class retains them: those are deleted after their namespace is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import poll
from salvage.k8s.waits import wait_for
from salvage.model.errors import KubernetesError, SalvageError

LABEL_SCRATCH = "salvage.io/drill-scratch"
ANNOTATION_DRILL = "salvage.io/drill"
ANNOTATION_BACKUP = "salvage.io/drill-backup"
ANNOTATION_OWNER = "salvage.io/drill-owner"
ANNOTATION_RUNNER = "salvage.io/drill-runner"
ANNOTATION_HEARTBEAT = "salvage.io/heartbeat"
ANNOTATION_KEPT = "salvage.io/drill-kept"
HEARTBEAT_EVERY = 10.0
HEARTBEAT_STALE = 60.0  # a namespace whose heartbeat is this old belongs to no running drill

_TIME = "%Y-%m-%dT%H:%M:%SZ"


def this_process() -> str:
    """The runner of a drill started here: ``HOST:PID``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def marks(drill: str, backup: str, owner: str, runner: str,
          now: dt.datetime | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations a drill's restore puts on each namespace it creates."""
    return {LABEL_SCRATCH: "true"}, {ANNOTATION_DRILL: drill, ANNOTATION_BACKUP: backup, ANNOTATION_OWNER: owner,
                                     ANNOTATION_RUNNER: runner, ANNOTATION_HEARTBEAT: _text(now or _now())}


@dataclass(frozen=True)
class Scratch:
    """A namespace some drill made, as its marks describe it."""

    namespace: str
    drill: str
    backup: str
    owner: str
    runner: str
    heartbeat: dt.datetime | None
    kept: bool

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Scratch | None:
        """The marks of a namespace, or None if no drill made it."""
        meta = obj.get("metadata") or {}
        if (meta.get("labels") or {}).get(LABEL_SCRATCH) != "true":
            return None
        notes = meta.get("annotations") or {}
        return cls(meta["name"], notes.get(ANNOTATION_DRILL, ""), notes.get(ANNOTATION_BACKUP, ""),
                   notes.get(ANNOTATION_OWNER, ""), notes.get(ANNOTATION_RUNNER, ""),
                   _time(notes.get(ANNOTATION_HEARTBEAT)), notes.get(ANNOTATION_KEPT) == "true")

    def abandoned(self, now: dt.datetime | None = None) -> bool:
        """No drill runs in it any more: its heartbeat is stale, or its runner was a process
        of this machine that is gone. Kept namespaces are never abandoned."""
        if self.kept:
            return False
        if self.heartbeat is None or ((now or _now()) - self.heartbeat).total_seconds() >= HEARTBEAT_STALE:
            return True
        return _gone_from_here(self.runner)

    def stale_at(self) -> dt.datetime:
        """When it counts as abandoned if its heartbeat is not renewed."""
        return (self.heartbeat or _now()) + dt.timedelta(seconds=HEARTBEAT_STALE)


def list_scratch(client: KubeClient) -> list[Scratch]:
    """Every namespace a drill made, present now (terminating ones included)."""
    found = (Scratch.of(n) for n in client.list(core("namespaces"), labelSelector=f"{LABEL_SCRATCH}=true"))
    return sorted((s for s in found if s is not None), key=lambda s: s.namespace)


class Heartbeat:
    """While open, renews the heartbeat of a drill's namespaces (those that exist) every
    ``every`` seconds, from a thread of its own. A failed renewal is tried again at the next
    beat: a drill never fails for it."""

    def __init__(self, client: KubeClient, namespaces: Iterable[str] = (), every: float = HEARTBEAT_EVERY) -> None:
        self.client, self.every = client, every
        self.namespaces: tuple[str, ...] = tuple(sorted(set(namespaces)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-heartbeat", daemon=True)

    def add(self, namespaces: Iterable[str]) -> None:
        """Renew these too, from the next beat on (they need not exist yet)."""
        self.namespaces = tuple(sorted({*self.namespaces, *namespaces}))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for namespace in self.namespaces:
                annotate(self.client, namespace, {ANNOTATION_HEARTBEAT: _text(_now())})


def annotate(client: KubeClient, namespace: str, annotations: dict[str, str], attempts: int = 3) -> bool:
    """Add annotations to a namespace that exists and is not being deleted (read, then
    replace: the verbs a drill already has); False when it could not."""
    path = core("namespaces", None, namespace)
    for _ in range(attempts):
        try:
            obj = client.find(path)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                return False
            obj["metadata"]["annotations"] = {**(obj["metadata"].get("annotations") or {}), **annotations}
            client.replace(path, obj)
            return True
        except KubernetesError as exc:
            if exc.status != 409:  # 409: changed since read; read again
                return False
    return False


def keep(client: KubeClient, namespaces: Iterable[str]) -> None:
    """Mark namespaces kept for a look: no later drill removes them."""
    for namespace in namespaces:
        annotate(client, namespace, {ANNOTATION_KEPT: "true"})


def remove_scratch(client: KubeClient, namespaces: Iterable[str], seconds: float = 180.0) -> list[str]:
    """Delete the namespaces, then any volume still bound to a claim in them; returns what
    could not be removed (empty: all of it went)."""
    scratch = set(namespaces)
    problems: list[str] = []
    deadline = time.monotonic() + seconds
    for namespace in sorted(scratch):
        try:
            client.delete_if_present(core("namespaces", None, namespace))
        except KubernetesError as exc:
            problems.append(f"namespace {namespace}: {exc.message}")
    for namespace in sorted(scratch):
        try:
            wait_for(client, core("namespaces", None, namespace), lambda o: o is None, deadline,
                     f"namespace {namespace} to be deleted")
        except SalvageError:  # the time is up, or the API refuses: say so, and go on cleaning
            problems.append(f"namespace {namespace} is still being deleted")

    def bound_volumes() -> list[dict[str, Any]]:
        return [pv for pv in client.list(core("persistentvolumes"))
                if ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace") in scratch]

    def only_retained() -> bool:  # what is left stays by its reclaim policy: nothing else removes it
        return all((pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Retain"
                   and (pv.get("status") or {}).get("phase") in ("Released", "Failed") for pv in bound_volumes())

    if poll(only_retained, deadline) and not bound_volumes():
        return problems
    for pv in bound_volumes():
        # Released with the Retain policy: the drill made it, so the drill removes it.
        try:
            client.delete_if_present(core("persistentvolumes", None, pv["metadata"]["name"]))
        except KubernetesError as exc:
            problems.append(f"PersistentVolume {pv['metadata']['name']}: {exc.message}")
    if not poll(lambda: not bound_volumes(), time.monotonic() + 60):
        problems.extend(f"PersistentVolume {pv['metadata']['name']} is still there" for pv in bound_volumes())
    return problems


def _gone_from_here(runner: str) -> bool:
    """True when ``runner`` is ``HOST:PID`` of this host and no such process runs."""
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime(_TIME)


def _time(text: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text or "", _TIME).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
