"""Run one data-mover pod per claim: create its Secret and pod, watch them, hand back the
result, and remove both whatever happens (success, failure, timeout, Ctrl-C).

At most ``parallel_volumes`` movers of one run at once; with ``per_node`` set, a mover is
made only while fewer than that many movers (of any run: other backups, the operator) are
on its node, counted from the cluster's pods, so concurrent runs share the cap.

Progress comes from the pod's log (JSON lines, read through the log subresource), the result
from its termination message (the CLI in the pod writes its result JSON there); a failure is
raised as soon as :mod:`~salvage.volumes.mover.diagnosis` calls it one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.events import events_for
from salvage.locations.config import LocationSpec
from salvage.model.errors import KubernetesError
from salvage.model.mover import MoverSettings
from salvage.model.progress import Progress, VolumeBytes, VolumeMoved, VolumeState, quiet
from salvage.volumes.method import VolumeCaptureError
from salvage.volumes.mover import manifests
from salvage.volumes.mover.cleanup import remove, sweep
from salvage.volumes.mover.diagnosis import GRACE, MOUNT_GRACE, MOUNT_REASONS, Verdict, diagnose
from salvage.volumes.mover.manifests import MoverJob

JSON = dict[str, Any]

_POLL = 0.5
_PROGRESS_EVERY = 2.0
_SLOT_POLL = 1.0

# One lock per node for this process: the count of a node's movers and the making of one
# more happen together (runs in other processes are seen through the API server).
_node_locks: dict[str, threading.Lock] = {}
_node_locks_lock = threading.Lock()

# Every runner of this process, for Ctrl-C (weak: a finished backup's runner just goes).
_runners: weakref.WeakSet[MoverRunner] = weakref.WeakSet()
_runners_lock = threading.Lock()


class MoverError(VolumeCaptureError):
    """A data-mover pod failed, could not start, or ran out of time."""

    def __init__(self, message: str, *, hint: str | None = None, pod: str = "") -> None:
        super().__init__(message, hint=hint)
        self.pod = pod  # its name, which is also its host name in the repository's locks


def cancel_all() -> None:
    """Stop every mover of this process (the CLI's Ctrl-C): each removes its pod and Secret."""
    with _runners_lock:
        runners = list(_runners)
    for runner in runners:
        runner.cancel()


class MoverRunner:
    """Mover pods for one backup or restore, against one location."""

    def __init__(self, client: KubeClient, settings: MoverSettings, location: LocationSpec, password: str,
                 progress: Progress = quiet, *, run_id: str | None = None,
                 on_swept: Callable[[list[str]], None] = lambda _pods: None) -> None:
        self.client, self.settings, self.location = client, settings, location
        self.on_swept = on_swept  # the names of killed runs' pods this run removed
        self._password = password
        self.progress = progress
        self.run_id = run_id or secrets.token_hex(4)
        self._cancelled = threading.Event()
        self._slots = threading.BoundedSemaphore(max(1, settings.parallel_volumes))  # --parallel-volumes
        self._swept = False
        with _runners_lock:
            _runners.add(self)

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self, job: MoverJob) -> JSON:
        """Run ``job`` to the end and return the mover's result JSON; raise :class:`MoverError`."""
        with self._slots:
            return self._run(job)

    def _run(self, job: MoverJob) -> JSON:
        if not self._swept:
            self._swept = True
            # What killed runs left: past their expiry, or no longer watched.
            swept = [entry.rsplit("/", 1)[1] for entry in sweep(self.client) if entry.startswith("pods ")]
            if swept:
                self.on_swept(swept)
        name = manifests.object_name(self.run_id, job)
        meta = {"labels": manifests.labels(self.run_id, job),
                "annotations": manifests.annotations(job, self.settings, dt.datetime.now(dt.timezone.utc))}
        try:
            with self._node_slot(job, name):
                self._create(name, job, meta)
            return self._watch(name, job)
        except MoverError as exc:
            exc.pod = name
            raise
        finally:
            remove(self.client, job.namespace, name)

    @contextlib.contextmanager
    def _node_slot(self, job: MoverJob, name: str) -> Iterator[None]:
        """Hold the node's lock until a slot there is free and the pod is made (it then
        counts as one of the node's movers while it lives)."""
        node, cap = job.slot_node, self.settings.per_node
        if not node or cap <= 0:
            yield
            return
        with _node_locks_lock:
            lock = _node_locks.setdefault(node, threading.Lock())
        what = f"Mover pod {job.namespace}/{name} ({job.action} of claim {job.label})"
        deadline = time.monotonic() + self.settings.run_timeout
        while not lock.acquire(timeout=_SLOT_POLL):
            self._check_waiting(what, node, deadline, [])
        try:
            told = False
            while len(busy := self._movers_on(node, job.namespace)) >= cap:
                if not told:
                    told = True
                    self.progress(VolumeState(job.label, f"waiting for a data-mover slot on node "
                                                         f"{node} ({len(busy)} of {cap} in use)"))
                self._check_waiting(what, node, deadline, busy)
                time.sleep(_SLOT_POLL)
            yield
        finally:
            lock.release()

    def _check_waiting(self, what: str, node: str, deadline: float, busy: list[str]) -> None:
        if self._cancelled.is_set():
            raise MoverError(f"{what} was stopped (interrupted) while waiting for a slot on node {node}.",
                             hint="Run the command again.")
        if time.monotonic() > deadline:
            held = f": {', '.join(busy)} held it" if busy else ""
            raise MoverError(f"{what} found no free data-mover slot on node {node} within "
                             f"{self.settings.run_timeout:.0f}s (--mover-per-node {self.settings.per_node}){held}.",
                             hint="Raise --mover-per-node, or run it again when the other backups have finished.")

    def _movers_on(self, node: str, namespace: str) -> list[str]:
        """``namespace/name`` of the live mover pods on (or made for) ``node``, of every run."""
        selector = f"{manifests.LABEL_TEMPORARY}=true"
        try:
            pods = list(self.client.list(core("pods"), labelSelector=selector))
        except KubernetesError:  # no cluster-wide list (a namespaced install): what it can see
            try:
                pods = list(self.client.list(core("pods", namespace), labelSelector=selector))
            except KubernetesError:
                return []  # the API server busy: the phase timeouts still bound the run
        busy = []
        for pod in pods:
            meta = pod["metadata"]
            if manifests.LABEL_ACTION not in (meta.get("labels") or {}):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            made_for = (meta.get("annotations") or {}).get(manifests.ANNOTATION_NODE)
            if node in ((pod.get("spec") or {}).get("nodeName"), made_for):
                busy.append(f"{meta['namespace']}/{meta['name']}")
        return busy

    def _create(self, name: str, job: MoverJob, meta: JSON) -> None:
        self.client.create(core("secrets", job.namespace), manifests.secret_manifest(name, job, meta, self.location,
                                                                         self._password))
        pod = self.client.create(core("pods", job.namespace), manifests.pod_manifest(name, job, meta, self.location,
                                                                          self.settings))
        # The Secret goes with its pod if anything deletes the pod (garbage collection).
        owner = {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod["metadata"]["uid"]}
        self.client.patch(core("secrets", job.namespace, name), {"metadata": {"ownerReferences": [owner]}})

    def _watch(self, name: str, job: MoverJob) -> JSON:
        path = core("pods", job.namespace, name)
        what = f"Mover pod {job.namespace}/{name} ({job.action} of claim {job.label})"
        started = time.monotonic()
        running_since: float | None = None
        lingering: dict[str, float] = {}
        last_progress, last_beat = 0.0, started
        while True:
            if self._cancelled.is_set():
                raise MoverError(f"{what} was stopped (interrupted).", hint="Run the command again.")
            try:
                pod = self.client.find(path)
            except KubernetesError:
                time.sleep(_POLL)  # the API server busy or restarting: the phase timeouts still bound this
                continue
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                raise MoverError(f"{what} was deleted before it finished.",
                                 hint="Something removed it (a person, an eviction, a node drain); "
                                      "run the command again.")
            if time.monotonic() - last_beat >= manifests.HEARTBEAT_EVERY:
                last_beat = time.monotonic()
                self._beat(path)
            events = [] if running_since else self._events(job.namespace, name)
            verdict = diagnose(pod, events)
            now = time.monotonic()
            if verdict.state == "succeeded" or (verdict.exit_code == 3 and _parse(verdict.result)):
                result = self._result(what, verdict)
                self.progress(VolumeMoved(job.label, job.action, name, round(now - started, 1),
                                          _count(result, "bytes_processed", "bytes"), _count(result, "max_rss_bytes")))
                return result
            if verdict.state == "failed":
                raise MoverError(f"{what} failed: {verdict.reason}: {verdict.message}", hint=verdict.hint)
            if verdict.lingering:
                first = lingering.setdefault(verdict.reason, now)
                if now - first >= (MOUNT_GRACE if verdict.reason in MOUNT_REASONS else GRACE):
                    raise MoverError(f"{what} cannot start: {verdict.reason}: {verdict.message}",
                                     hint=verdict.hint)
            if verdict.state == "running":
                running_since = running_since or now
                if now - running_since > self.settings.run_timeout:
                    raise MoverError(f"{what} did not finish within {self.settings.run_timeout:.0f}s.",
                                     hint="Raise --mover-timeout for large volumes, or check the "
                                          "repository's store is reachable from the node.")
                if now - last_progress >= _PROGRESS_EVERY:
                    last_progress = now
                    self._report_progress(job, name)
            elif now - started > self.settings.start_timeout:
                cause = f": {verdict.reason}: {verdict.message}" if verdict.reason else ""
                raise MoverError(f"{what} did not start within {self.settings.start_timeout:.0f}s{cause}.",
                                 hint="See `kubectl describe pod`; raise --mover-start-timeout if the image "
                                      "pull is merely slow.")
            time.sleep(_POLL)

    def _beat(self, path: str) -> None:
        """Say this run still watches the pod (cleanup.py removes pods whose run stopped)."""
        now = manifests.stamp(dt.datetime.now(dt.timezone.utc))
        try:
            self.client.patch(path, {"metadata": {"annotations": {manifests.ANNOTATION_HEARTBEAT: now}}})
        except KubernetesError:
            pass  # the next beat may pass; a minute of failed beats is what a sweep waits for

    def _events(self, namespace: str, name: str) -> list[JSON]:
        try:
            return events_for(self.client, namespace, name)
        except KubernetesError:
            return []

    def _report_progress(self, job: MoverJob, name: str) -> None:
        try:
            text = self.client.get_text(core("pods", job.namespace, name) + "/log",
                                        container=manifests.CONTAINER, tailLines=5)
        except KubernetesError:
            return  # the log is advisory; the result comes from the termination message
        lines = [_parse(line) for line in text.splitlines()]
        latest = next((line for line in reversed(lines) if line and line.get("event") == "progress"), None)
        if latest:
            self.progress(VolumeBytes(job.label, job.action, name, _count(latest, "files"),
                                      _count(latest, "files_total", default=None), _count(latest, "bytes"),
                                      _count(latest, "bytes_total", default=None),
                                      _count(latest, "bytes_per_second")))

    def _result(self, what: str, verdict: Verdict) -> JSON:
        result = _parse(verdict.result)
        if result is None:
            raise MoverError(f"{what} finished but left no result (its termination message is "
                             f"{verdict.result[:200]!r}).",
                             hint="The mover image may be older than this Salvage; use the same version "
                                  "(--mover-image).")
        return result


def _count(data: JSON, *keys: str, default: int | None = 0) -> Any:
    """The first of ``keys`` in a mover's JSON line or result, as an int (``default`` when absent)."""
    for key in keys:
        if isinstance(data.get(key), int):
            return data[key]
    return default


def _parse(line: str) -> JSON | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
