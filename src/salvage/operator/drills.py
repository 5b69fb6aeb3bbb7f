"""The Drill reconciler: at each cron firing (in the drill's time zone) a restore drill of
the named backup, or of a Schedule's newest Completed backup, through engines/drill.py;
its outcome goes into the Drill's status and the ``salvage_drill_*`` metrics, and only the
newest ``keepReports`` reports are kept. None while paused.

A drill runs in the worker that reconciles its Drill (it takes minutes; the other workers
go on). Its firing time is written to status before it starts, so an operator that dies
mid-drill does not start it again at once; the next firing does. The scratch namespaces
such a drill left carry its operator's identity (engines/drill_scratch.py): only the Lease
holder runs drills, so those of another identity belong to no running drill. Each
reconcile removes them, and a drill whose outcome was never written is Failed, its
namespaces named."""

from __future__ import annotations

import datetime as dt
import logging
import time

from salvage.engines import cron
from salvage.engines.drill_scratch import Scratch, list_scratch, remove_scratch
from salvage.engines.drill import (
    DrillReport, DrillRequest, drilled_backup, list_drills, prune_reports, run_drill,
)
from salvage.model.errors import SalvageError
from salvage.operator.context import JSON, OperatorContext, parse_time, unix_time
from salvage.operator.drill_metrics import drill_metrics

log = logging.getLogger("salvage.operator")

PLURAL = "drills"
MAX_WAIT = 300.0  # look again at least this often (a clock jump, an edited spec missed)
DEFAULT_KEEP = 10
DEFAULT_TIMEOUT = 600


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def drill_request(obj: JSON, backup: str, firing: dt.datetime, repo_password: str | None,
                  runner: str = "") -> DrillRequest:
    """The engine's request for one run of this Drill."""
    meta, spec = obj["metadata"], obj["spec"]
    checks = spec.get("checks") or {}
    stamp = f"{firing.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}"
    return DrillRequest(
        backup=backup, name=f"{meta['name'][:63 - len(stamp) - 1].rstrip('-.')}-{stamp}",
        verify_command=tuple(checks.get("verifyCommand") or ()), verify_container=checks.get("verifyContainer"),
        verify_selector=checks.get("verifySelector"), timeout=float(checks.get("timeoutSeconds") or DEFAULT_TIMEOUT),
        repo_password=repo_password, owner=owner_of(obj), runner=runner)


def drill_spec(*, schedule: str, time_zone: str = "UTC", paused: bool = False, backup: str | None = None,
               backup_schedule: str | None = None, location: str | None = None,
               verify_command: tuple[str, ...] = (), verify_container: str | None = None,
               verify_selector: str | None = None, timeout_seconds: int | None = None,
               keep_reports: int = DEFAULT_KEEP, password_secret: tuple[str, str] | None = None) -> JSON:
    """A Drill's spec (`salvage drill create`): the fields ``drill_request`` reads back, only
    those set (the reconciler's defaults stand for the others)."""
    checks = {"verifyCommand": list(verify_command) or None, "verifyContainer": verify_container,
              "verifySelector": verify_selector, "timeoutSeconds": timeout_seconds}
    spec: JSON = {"schedule": schedule, "timeZone": time_zone, "paused": paused, "backupName": backup,
                  "scheduleName": backup_schedule, "location": location,
                  "checks": {k: v for k, v in checks.items() if v is not None} or None, "keepReports": keep_reports,
                  "repoPasswordSecret": {"name": password_secret[0], "key": password_secret[1]}
                  if password_secret else None}
    return {k: v for k, v in spec.items() if v is not None}


def owner_of(obj: JSON) -> str:
    return f"Drill {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


class DrillReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext, clock=lambda: dt.datetime.now(dt.timezone.utc)) -> None:  # type: ignore[no-untyped-def]
        self.ctx, self.clock = ctx, clock
        self.metrics = drill_metrics(ctx.metrics)

    def reconcile(self, obj: JSON) -> float | None:
        self._settle_interrupted(obj)
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
            # The reason of an Invalid spec goes; that of the last drill (or its interruption) stays.
            self.ctx.write_status(PLURAL, obj, {"phase": "Paused", "nextRun": None,
                                                **({"reason": ""} if status.get("phase") == "Invalid" else {})})
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
        if status.get("phase") == "Invalid":
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
            request = drill_request(obj, backup, firing, self.ctx.repo_password(spec), self.ctx.identity)
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

    def _settle_interrupted(self, obj: JSON) -> None:
        """Remove the scratch namespaces that drills of another operator process left (of this
        Drill, and of Drills deleted since); a drill of this one whose outcome was never
        written failed, and its status says so."""
        try:
            found = list_scratch(self.ctx.client)
        except SalvageError as exc:  # never stops the drills themselves
            log.warning("looking for scratch namespaces stopped drills left: %s", exc.message)
            return
        ours = f"Drill {self.ctx.namespace}/"
        left = [s for s in found if s.runner != self.ctx.identity and not s.kept and s.owner.startswith(ours)]
        mine = [s for s in left if s.owner == owner_of(obj)]
        gone = [s for s in left if s not in mine and self.ctx.find(PLURAL, s.owner.split("/", 1)[1]) is None]
        if gone:
            problems = remove_scratch(self.ctx.client, [s.namespace for s in gone])
            log.info("removed scratch namespaces %s of deleted Drills, left by a stopped operator%s",
                     ", ".join(s.namespace for s in gone), f" ({'; '.join(problems)})" if problems else "")
        if not mine:
            return
        problems = remove_scratch(self.ctx.client, [s.namespace for s in mine])
        status = obj.setdefault("status", {})
        unrecorded = sorted({s.drill for s in mine} - {status.get("lastDrill")})
        log.info("Drill %s: removed scratch namespaces %s, left by a stopped operator", obj["metadata"]["name"],
                 ", ".join(s.namespace for s in mine))
        if not unrecorded:  # its outcome is in status already: it was stopped while cleaning up
            return
        update = _interrupted(unrecorded[-1], [s for s in mine if s.drill == unrecorded[-1]], problems,
                              int(status.get("consecutiveFailures") or 0) + len(unrecorded))
        for _ in unrecorded:
            self.metrics.finished(obj["metadata"]["name"], False, ended=time.time(), recovery_time=None,
                                  recovery_point=None, phases={})
        self.ctx.write_status(PLURAL, obj, update)
        status.update(update)


def _interrupted(drill: str, scratch: list[Scratch], problems: list[str], failures: int) -> JSON:
    """The status of a Drill whose drill ``drill`` was stopped by its operator's end."""
    names = ", ".join(s.namespace for s in scratch)
    runners = ", ".join(sorted({s.runner for s in scratch}))
    reason = (f"Drill run {drill} was interrupted: the operator running it ({runners}) stopped mid-drill. "
              f"Its scratch namespaces {names} were removed"
              + (f", but not all: {'; '.join(problems)}." if problems else ".")
              + " The next firing drills again.")
    return {"lastDrill": drill, "lastBackup": scratch[0].backup, "lastResult": "Failed", "reason": reason,
            "failures": [f"interrupted: namespace {s.namespace} removed" for s in scratch]
            + [f"clean-up: {p}" for p in problems], "phases": None, "consecutiveFailures": failures}


def _failures(report: DrillReport) -> list[str]:
    failed = [f"check {c.name}: {c.detail}" for c in report.checks if not c.passed]
    others = [e for e in report.errors if not e.startswith("check ")]
    return (failed + others + [f"clean-up: {c}" for c in report.cleanup])[:20]
