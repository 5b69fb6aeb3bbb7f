"""The Drill reconciler: at each cron firing (in the drill's time zone) a restore drill of
the named backup, or of a Schedule's newest Completed backup, through engines/drill.py;
its outcome goes into the Drill's status and the ``salvage_drill_*`` metrics, and only the
newest ``keepReports`` reports are kept. None while paused.

A drill runs in the worker that reconciles its Drill (it takes minutes; the other workers
go on). Its firing time is written to status before it starts, so an operator that dies
mid-drill does not start it again at once; the next firing does."""

from __future__ import annotations

import datetime as dt
import time

from salvage.engines import cron
from salvage.engines.drill import (
    DrillReport, DrillRequest, drilled_backup, list_drills, prune_reports, run_drill,
)
from salvage.model.errors import SalvageError
from salvage.operator.context import JSON, OperatorContext, parse_time, unix_time
from salvage.operator.drill_metrics import drill_metrics

PLURAL = "drills"
MAX_WAIT = 300.0  # look again at least this often (a clock jump, an edited spec missed)
DEFAULT_KEEP = 10
DEFAULT_TIMEOUT = 600


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def drill_request(obj: JSON, backup: str, firing: dt.datetime, repo_password: str | None) -> DrillRequest:
    """The engine's request for one run of this Drill."""
    meta, spec = obj["metadata"], obj["spec"]
    checks = spec.get("checks") or {}
    stamp = f"{firing.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}"
    return DrillRequest(
        backup=backup, name=f"{meta['name'][:63 - len(stamp) - 1].rstrip('-.')}-{stamp}",
        verify_command=tuple(checks.get("verifyCommand") or ()), verify_container=checks.get("verifyContainer"),
        verify_selector=checks.get("verifySelector"), timeout=float(checks.get("timeoutSeconds") or DEFAULT_TIMEOUT),
        repo_password=repo_password, owner=owner_of(obj))


def owner_of(obj: JSON) -> str:
    return f"Drill {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


class DrillReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext, clock=lambda: dt.datetime.now(dt.timezone.utc)) -> None:  # type: ignore[no-untyped-def]
        self.ctx, self.clock = ctx, clock
        self.metrics = drill_metrics(ctx.metrics)

    def reconcile(self, obj: JSON) -> float | None:
        spec, status = obj["spec"], obj.get("status") or {}
        name = obj["metadata"]["name"]
        expr, zone = spec["schedule"], spec.get("timeZone") or "UTC"
        try:
            cron.validate(expr, zone)
        except SalvageError as exc:
            self.ctx.write_status(PLURAL, obj, {"phase": "Invalid", "reason": exc.message, "nextRun": None})
            return None
        if status.get("lastSuccessful"):
            self.metrics.last_passed_at(name, unix_time(status["lastSuccessful"]) or 0.0)
        if spec.get("paused"):
            self.ctx.write_status(PLURAL, obj, {"phase": "Paused", "reason": "", "nextRun": None})
            return None
        now = self.clock()
        last = parse_time(status.get("lastScheduled")) or parse_time(obj["metadata"]["creationTimestamp"])
        assert last is not None
        due = cron.next_run(expr, zone, last)
        if due <= now:
            firing = self._latest_firing(expr, zone, due, now)
            self.ctx.write_status(PLURAL, obj, {"phase": "Enabled", "lastScheduled": _text(firing),
                                                "nextRun": _text(cron.next_run(expr, zone, firing))})
            self._run(obj, firing)
            due = cron.next_run(expr, zone, firing)
        update: JSON = {"phase": "Enabled", "nextRun": _text(due)}
        if status.get("phase") in ("Invalid", "Paused"):
            update["reason"] = ""
        self.ctx.write_status(PLURAL, obj, update)
        return max(0.05, min(MAX_WAIT, (due - self.clock()).total_seconds()))

    @staticmethod
    def _latest_firing(expr: str, zone: str, due: dt.datetime, now: dt.datetime) -> dt.datetime:
        """The newest firing at or before ``now``: one drill stands for any the operator missed."""
        firing = due
        for _ in range(10_000):
            following = cron.next_run(expr, zone, firing)
            if following > now:
                break
            firing = following
        return firing

    def _run(self, obj: JSON, firing: dt.datetime) -> None:
        name, spec = obj["metadata"]["name"], obj["spec"]
        status = obj.get("status") or {}
        self.metrics.attempts.labels(name).inc()
        try:
            location = self.ctx.location(spec.get("location"))
            backup = drilled_backup(location, spec.get("backupName"), spec.get("scheduleName"))
            request = drill_request(obj, backup, firing, self.ctx.repo_password(spec))
            report = run_drill(self.ctx.client, location, request)
            prune_reports(location, request.owner, int(spec.get("keepReports") or DEFAULT_KEEP))
            reports = [r["name"] for r in list_drills(location) if r.get("owner") == request.owner]
        except SalvageError as exc:  # no backup to drill, no location, no password: the drill failed to start
            reason = exc.message + (f" {exc.hint}" if exc.hint else "")
            self.metrics.finished(name, False, ended=time.time(), recovery_time=None, recovery_point=None, phases={})
            self.ctx.write_status(PLURAL, obj, {"lastResult": "Failed", "reason": reason, "failures": [reason],
                                                "consecutiveFailures": int(status.get("consecutiveFailures") or 0) + 1})
            return
        passed = report.phase == "Passed"
        self.metrics.finished(name, passed, ended=time.time(), recovery_time=report.recovery_time_seconds,
                              recovery_point=report.recovery_point_seconds, phases=report.phases)
        update: JSON = {
            "lastDrill": report.name, "lastBackup": report.backup, "lastResult": report.phase, "reason": "",
            "recoveryPointSeconds": report.recovery_point_seconds, "phases": report.phases,
            "failures": _failures(report), "reports": reports,
            "consecutiveFailures": 0 if passed else int(status.get("consecutiveFailures") or 0) + 1,
        }
        if passed:
            update.update(lastSuccessful=report.completed, recoveryTimeSeconds=report.recovery_time_seconds)
        self.ctx.write_status(PLURAL, obj, update)


def _failures(report: DrillReport) -> list[str]:
    failed = [f"check {c.name}: {c.detail}" for c in report.checks if not c.passed]
    others = [e for e in report.errors if not e.startswith("check ")]
    return (failed + others + [f"clean-up: {c}" for c in report.cleanup])[:20]
