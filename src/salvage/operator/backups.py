"""The Backup reconciler: a New backup is run through the backup engine; an InProgress one
another operator left behind is settled from the location (its manifest says Completed or
PartiallyFailed, else Failed with the reason); an expired one is deleted through the
deletion engine (never on a ReadOnly location)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from salvage.catalog.reader import BackupReader, IncompleteBackupError
from salvage.engines.backup import create_backup
from salvage.engines.backup_objects import backup_request
from salvage.engines.deletion import delete_backup
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.model.durations import parse_duration
from salvage.model.errors import NotFoundError, SalvageError
from salvage.operator.context import (
    JSON,
    OperatorContext,
    now_text,
    orphan_reason,
    parse_time,
    run_state,
    unix_time,
)
from salvage.operator.crds import item
from salvage.operator.live_status import LiveStatus

PLURAL = "backups"
LOCATION_LABEL = "salvage.io/location"
# On a Backup made by syncing a location: never run (its status is written right after).
SYNCED = "salvage.io/synced"
DONE = ("Completed", "PartiallyFailed", "Failed")


class BackupReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext) -> None:
        self.ctx = ctx

    def reconcile(self, obj: JSON) -> float | None:
        """Act on what the object says; seconds until it wants another look, or None."""
        state = run_state(obj, self.ctx.identity)
        if state == "new" and SYNCED not in (obj["metadata"].get("annotations") or {}):
            self._run(obj)
        elif state == "orphaned":
            self._settle_orphan(obj)
        elif state in DONE:
            completed = unix_time((obj.get("status") or {}).get("completed"))
            if state == "Completed" and completed:
                self.ctx.metrics.completed_at(_schedule(obj), completed)
            return self._expire(obj)
        return None

    def _run(self, obj: JSON) -> None:
        name, spec = obj["metadata"]["name"], obj["spec"]
        try:
            location = self.ctx.location(spec.get("location"))
        except SalvageError as exc:
            self.ctx.fail(PLURAL, obj, exc)
            return
        self.ctx.write_status(PLURAL, obj, {"phase": "InProgress", "operator": self.ctx.identity,
                                            "location": location.name, "started": now_text()})
        schedule, started = _schedule(obj), time.monotonic()
        self.ctx.metrics.backup_started(schedule)
        live = LiveStatus(self.ctx, PLURAL, obj, schedule=schedule)
        try:
            with live:
                outcome = create_backup(self.ctx.client, location,
                                        backup_request(name, spec, self.ctx.repo_password(spec),
                                                       obj["metadata"].get("labels")), live)
        except SalvageError as exc:
            self.ctx.metrics.backup_finished(schedule, "Failed", time.monotonic() - started, 0)
            self.ctx.fail(PLURAL, obj, exc)
            return
        self.ctx.metrics.backup_finished(schedule, outcome.phase, outcome.seconds, outcome.bytes_written)
        status: JSON = {"phase": outcome.phase, "items": outcome.items, "volumes": len(outcome.volumes),
                        "bytesWritten": outcome.bytes_written, "warnings": outcome.warnings[:50],
                        "errors": outcome.errors[:50], "completed": now_text(), "progress": live.progress(),
                        "resourceCounts": live.per_resource()}
        if outcome.errors:
            status["reason"] = outcome.errors[0]
        self.ctx.write_status(PLURAL, obj, {**status, **_expiry(spec)})

    def _settle_orphan(self, obj: JSON) -> None:
        """An InProgress backup whose operator is gone (this process did not start it): its
        manifest, written last, decides; the engine cannot resume a half-written backup."""
        name, status = obj["metadata"]["name"], obj.get("status") or {}
        try:
            location = self.ctx.location(status.get("location") or obj["spec"].get("location"))
            summary = BackupReader(location.store, name).summary()
        except (IncompleteBackupError, NotFoundError):
            self.ctx.write_status(PLURAL, obj, {"phase": "Failed", "completed": now_text(), "reason": orphan_reason(
                obj, "what it wrote has no manifest and stays Incomplete on the location")})
            return
        except SalvageError as exc:
            self.ctx.fail(PLURAL, obj, exc)
            return
        self.ctx.write_status(PLURAL, obj, {"phase": summary.phase, "items": summary.items,
                                            "volumes": summary.volumes, "completed": summary.completed,
                                            "reason": "settled from its manifest after an operator restart"})

    def _expire(self, obj: JSON) -> float | None:
        expires = parse_time((obj.get("status") or {}).get("expires"))
        if expires is None:
            return None
        left = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if left > 0:
            return min(left, 3600.0)
        name = obj["metadata"]["name"]
        try:
            location = self.ctx.location((obj.get("status") or {}).get("location") or obj["spec"].get("location"))
            if location.spec.read_only:
                return None  # never written: the backup stays until a ReadWrite location's operator expires it
            delete_backup(self.ctx.client, location, name, repo_password=self.ctx.repo_password(obj["spec"]))
        except NotFoundError:
            pass  # already gone from the location
        except SalvageError as exc:
            self.ctx.write_status(PLURAL, obj, {"reason": f"TTL deletion failed: {exc.message}"})
            return 300.0
        self.ctx.client.delete_if_present(item(PLURAL, self.ctx.namespace, name))
        return None


def _schedule(obj: JSON) -> str:
    return (obj["metadata"].get("labels") or {}).get(SCHEDULE_LABEL, "")


def _expiry(spec: JSON) -> dict[str, Any]:
    seconds = parse_duration(spec.get("ttl"))
    if not seconds:
        return {}
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return {"expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
