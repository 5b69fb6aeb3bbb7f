"""A running Backup's or Restore's progress, from the engine's typed events into the
object's ``status.progress`` and the operator's metrics.

The engine calls :class:`LiveStatus` with each event, from its worker threads, and goes
on at once: counts are kept under a lock, metrics move with every event, and the status
is written by a thread of its own at most once per ``interval`` seconds, and only when
something changed (a 10,000-object backup is a handful of status writes, not 10,000). A
failed status write is logged and tried again at the next interval; it never fails the
run. The reconciler's final status write comes after :meth:`LiveStatus.__exit__`, which
stops that thread first, so a late progress write cannot land after the outcome."""

from __future__ import annotations

import logging
import threading
from typing import Any

from salvage.model.errors import SalvageError
from salvage.model.progress import (
    Event, Item, Logged, ResourceDone, Step, VolumeBytes, VolumeMoved, VolumeState,
)
from salvage.operator.context import JSON, OperatorContext, now_text

log = logging.getLogger("salvage.operator")

STEP_LIMIT = 200  # characters of the current step kept in the status
KINDS_LIMIT = 100  # resource types in status.resourceCounts


class LiveStatus:
    """The progress of one run (``plural`` is backups or restores)."""

    def __init__(self, ctx: OperatorContext, plural: str, obj: JSON, *, schedule: str = "",
                 interval: float | None = None) -> None:
        self.ctx, self.plural, self.obj, self.schedule = ctx, plural, obj, schedule
        self.interval = ctx.progress_seconds if interval is None else interval
        self.writes = 0  # progress writes made (the final status is the reconciler's)
        self._counts: dict[str, int] = {"resources": 0, "items": 0, "volumes": 0, "volumeBytes": 0, "warnings": 0}
        self._actions: dict[str, int] = {}  # a restore's items per action
        self._kinds: dict[str, Any] = {}  # per resource: a backup's count, a restore's counts per action
        self._step = ""
        self._moved: dict[str, int] = {}  # bytes already counted per claim (the pod reports running totals)
        self._lock = threading.Lock()
        self._changed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the engine's callback -------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._changed |= self._count(event)

    def _count(self, event: Event) -> bool:
        """Count ``event`` (under the lock); whether the status has something new."""
        metrics, backup = self.ctx.metrics, self.plural == "backups"
        match event:
            case ResourceDone(resource, count):
                self._counts["resources"] += 1
                if count is not None:  # a backup's objects come by resource type
                    self._counts["items"] += count
                    self._kinds[resource] = count
                    metrics.backup_items.labels(self.schedule).inc(count)
            case Item(resource=resource, action=action):
                self._counts["items"] += 1
                self._actions[action] = self._actions.get(action, 0) + 1
                per_action = self._kinds.setdefault(resource, {})
                per_action[action] = per_action.get(action, 0) + 1
                metrics.restore_items.labels(action).inc()
            case VolumeState(pvc, state, done):
                if done:
                    self._counts["volumes"] += 1
                self._step = f"volume {pvc}: {state}"
            case VolumeBytes(pvc=pvc, bytes=done) | VolumeMoved(pvc=pvc, bytes=done):
                added = max(0, done - self._moved.get(pvc, 0))
                self._moved[pvc] = max(done, self._moved.get(pvc, 0))
                self._counts["volumeBytes"] += added
                counter = metrics.backup_volume_bytes.labels(self.schedule) if backup else metrics.restore_volume_bytes
                counter.inc(added)
            case Step(message):
                self._step = message
            case Logged("warning" | "error"):
                self._counts["warnings"] += 1
            case _:
                return False
        return True

    # -- what goes into the status ---------------------------------------------------------

    def progress(self) -> JSON:
        """The progress now, as ``status.progress`` holds it."""
        with self._lock:
            return self._progress()

    def _progress(self) -> JSON:
        progress: dict[str, Any] = {k: v for k, v in self._counts.items() if v or k in ("items", "resources")}
        if self._step:
            progress["step"] = self._step[:STEP_LIMIT]
        progress["updated"] = now_text()
        return progress

    def counts(self) -> dict[str, int]:
        """A restore's items per action so far (created, updated, skipped, failed, planned)."""
        with self._lock:
            return dict(self._actions)

    def per_resource(self) -> dict[str, Any]:
        """Per resource type: a backup's objects, a restore's objects per action (at most
        ``KINDS_LIMIT`` types, the largest first, so the status stays small)."""
        with self._lock:
            def size(entry: tuple[str, Any]) -> int:
                return entry[1] if isinstance(entry[1], int) else sum(entry[1].values())
            largest = sorted(self._kinds.items(), key=size, reverse=True)[:KINDS_LIMIT]
            return {name: value if isinstance(value, int) else dict(value) for name, value in sorted(largest)}

    # -- the writer thread -----------------------------------------------------------------

    def __enter__(self) -> LiveStatus:
        self._thread = threading.Thread(target=self._write_periodically, daemon=True,
                                        name=f"progress-{self.obj['metadata']['name']}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _write_periodically(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if not self._changed:
                    continue
                self._changed = False
                status: JSON = {"progress": self._progress()}
                if self._actions:
                    status["counts"] = dict(self._actions)
            try:
                self.ctx.write_status(self.plural, self.obj, status)
                self.writes += 1
            except Exception as exc:  # noqa: BLE001 - progress is advisory: never stop the run for it
                with self._lock:
                    self._changed = True  # the next interval tries again
                log.warning("could not write the progress of %s %s: %s", self.plural, self.obj["metadata"]["name"],
                            exc.message if isinstance(exc, SalvageError) else exc)
