"""The BackupLocation reconciler: checks the location on its period (Available or
Unavailable with the reason; a ReadOnly one is never written, not even a probe) and syncs
the backups it finds there into Backup objects, so a cluster pointed at a location sees
every finished backup on it and can restore through a Restore."""

from __future__ import annotations

import datetime as dt

from salvage.catalog.reader import BackupReader, list_backups
from salvage.engines.location_checks import probe_location
from salvage.locations import open_location
from salvage.model.errors import KubernetesError, SalvageError
from salvage.operator.backups import DONE, LOCATION_LABEL, SYNCED
from salvage.operator.context import JSON, OperatorContext, now_text, parse_time
from salvage.operator.crds import API_VERSION, collection

PLURAL = "backuplocations"
DEFAULT_PERIOD = 60.0


class BackupLocationReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext) -> None:
        self.ctx = ctx

    def reconcile(self, obj: JSON) -> float | None:
        period = float(obj["spec"].get("checkPeriodSeconds") or DEFAULT_PERIOD)
        status = obj.get("status") or {}
        checked = parse_time(status.get("lastChecked"))
        if checked and status.get("observedGeneration") == obj["metadata"].get("generation"):
            # Our own status write brought it back here: not due yet.
            left = period - (dt.datetime.now(dt.timezone.utc) - checked).total_seconds()
            if left > 0:
                return left
        try:
            location = open_location(self.ctx.location_spec(obj))
            checks = probe_location(location)
        except SalvageError as exc:
            self._status(obj, "Unavailable", exc.message)
            return period
        failed = [f"{c.name}: {c.detail}" for c in checks if c.failed]
        if failed:
            self._status(obj, "Unavailable", "; ".join(failed))
            return period
        count = self._sync(obj, location)
        self._status(obj, "Available", "", backups=count)
        return period

    def _status(self, obj: JSON, phase: str, reason: str, **extra: int) -> None:
        self.ctx.metrics.location_available.labels(obj["metadata"]["name"]).set(1 if phase == "Available" else 0)
        self.ctx.write_status(PLURAL, obj, {"phase": phase, "reason": reason, "lastChecked": now_text(), **extra})

    def _sync(self, obj: JSON, location) -> int:  # type: ignore[no-untyped-def]
        """Create a Backup object for each finished backup on the location that has none."""
        known = {b["metadata"]["name"] for b in self.ctx.objects("backups")}
        summaries = [s for s in list_backups(location.store) if s.phase in DONE]
        for summary in summaries:
            if summary.name in known:
                continue
            manifest = BackupReader(location.store, summary.name).manifest
            spec = {k: v for k, v in (manifest.get("spec") or {}).items()
                    if v is not None and k not in ("ttlSeconds",)}
            body = {"apiVersion": API_VERSION, "kind": "Backup",
                    "metadata": {"name": summary.name,
                                 "labels": {**(manifest.get("labels") or {}), LOCATION_LABEL: location.name},
                                 "annotations": {SYNCED: "true"}},
                    "spec": {**spec, "location": location.name}}
            try:
                created = self.ctx.client.create(collection("backups", self.ctx.namespace), body)
            except KubernetesError as exc:
                if exc.status == 409:
                    continue
                raise
            status = {"phase": summary.phase, "location": location.name, "items": summary.items,
                      "volumes": summary.volumes, "started": summary.started, "completed": summary.completed,
                      "expires": summary.expires, "synced": True}
            self.ctx.write_status("backups", created, {k: v for k, v in status.items() if v is not None})
        return len(summaries)
