"""The Schedule reconciler: at each cron firing (in the schedule's time zone) a Backup of
its template, labelled with the schedule's name; none while paused; with Forbid, none while
one of its backups is still New or InProgress (the run is counted as missed). Retention
then plans over the schedule's backups on the location and deletes the rest through the
deletion engine (never on a ReadOnly location), and their objects with them."""

from __future__ import annotations

import datetime as dt

from salvage.engines import cron
from salvage.engines.pruning import SCHEDULE_LABEL, plan_prune, prune, schedule_selector
from salvage.engines.backup_objects import backup_object
from salvage.engines.backup_retention import RetentionPolicy
from salvage.engines.schedule_objects import retention_policy, schedule_backups
from salvage.model.errors import KubernetesError, SalvageError
from salvage.operator.backups import DONE
from salvage.operator.context import JSON, OperatorContext, parse_time
from salvage.operator.crds import collection, item

PLURAL = "schedules"
MAX_WAIT = 300.0  # look again at least this often (a clock jump, an edited spec missed)


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScheduleReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext, clock=lambda: dt.datetime.now(dt.timezone.utc)) -> None:  # type: ignore[no-untyped-def]
        self.ctx, self.clock = ctx, clock

    def reconcile(self, obj: JSON) -> float | None:
        spec, status = obj["spec"], obj.get("status") or {}
        expr, zone = spec["schedule"], spec.get("timeZone") or "UTC"
        try:
            cron.validate(expr, zone)
            policy = retention_policy(spec)
        except SalvageError as exc:
            self.ctx.metrics.schedule_disabled(obj["metadata"]["name"])
            self.ctx.write_status(PLURAL, obj, {"phase": "Invalid", "reason": exc.message, "nextRun": None})
            return None
        name = obj["metadata"]["name"]
        if spec.get("paused"):
            self.ctx.metrics.schedule_disabled(name)  # a paused schedule is not stale
            self.ctx.write_status(PLURAL, obj, {"phase": "Paused", "reason": "", "nextRun": None})
            return None
        now = self.clock()
        created = parse_time(obj["metadata"]["creationTimestamp"])
        assert created is not None
        self.ctx.metrics.schedule_enabled(name, cron.expected_interval_seconds(expr, zone, now), created.timestamp())
        last = parse_time(status.get("lastScheduled")) or parse_time(obj["metadata"]["creationTimestamp"])
        assert last is not None
        due = cron.next_run(expr, zone, last)
        update: JSON = {"phase": "Enabled"}
        if status.get("phase") != "Enabled":
            update["reason"] = ""  # no longer Invalid or Paused
        if due <= now:
            firing, skipped = self._latest_firing(expr, zone, due, now)
            missed = int(status.get("missedRuns") or 0) + skipped
            update["lastScheduled"] = _text(firing)
            if self._running(obj) and spec.get("concurrencyPolicy", "Forbid") == "Forbid":
                missed += 1
                update["reason"] = "skipped a run: a backup of this schedule is still running (Forbid)"
            else:
                update["lastBackup"], update["reason"] = self._make_backup(obj, firing), ""
                self.ctx.metrics.schedule_delay.labels(name).observe((self.clock() - firing).total_seconds())
            update["missedRuns"] = missed
            due = cron.next_run(expr, zone, firing)
        backups = self._backups(obj)
        done = [b for b in backups if (b.get("status") or {}).get("phase") == "Completed"]
        if done:
            update["lastSuccessful"] = max(b["status"].get("completed") or "" for b in done)
        if policy is not None:
            trouble = self._retain(obj, policy, backups)
            if trouble:
                update["reason"] = trouble  # kept until retention succeeds, not cleared by the next run
        update["nextRun"] = _text(due)
        self.ctx.write_status(PLURAL, obj, update)
        return max(0.05, min(MAX_WAIT, (due - self.clock()).total_seconds()))

    def forget(self, obj: JSON) -> None:
        """The schedule was deleted: its staleness goes with it (its backups stay)."""
        self.ctx.metrics.schedule_disabled(obj["metadata"]["name"])

    @staticmethod
    def _latest_firing(expr: str, zone: str, due: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, int]:
        """The newest firing at or before ``now`` from ``due`` on, and how many before it were
        skipped (the operator was down, or busy): one backup stands for all of them."""
        firing, skipped = due, 0
        while skipped < 10_000:
            following = cron.next_run(expr, zone, firing)
            if following > now:
                break
            firing, skipped = following, skipped + 1
        return firing, skipped

    def _backups(self, obj: JSON) -> list[JSON]:
        return schedule_backups(self.ctx.client, self.ctx.namespace, obj["metadata"]["name"])

    def _running(self, obj: JSON) -> bool:
        return any((b.get("status") or {}).get("phase", "New") not in DONE for b in self._backups(obj))

    def _make_backup(self, obj: JSON, firing: dt.datetime) -> str:
        schedule = obj["metadata"]["name"]
        name = f"{schedule}-{firing.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}"
        # No owner reference: backups outlive their schedule, as their data does.
        body = backup_object(name, dict(obj["spec"]["template"]), {SCHEDULE_LABEL: schedule})
        try:
            self.ctx.client.create(collection("backups", self.ctx.namespace), body)
        except KubernetesError as exc:
            if exc.status != 409:  # 409: made already (a status write was lost); not twice
                raise
        return name

    def _retain(self, obj: JSON, policy: RetentionPolicy, backups: list[JSON]) -> str:
        """Delete what the policy does not keep; why a deletion failed ('' if none did)."""
        schedule, template = obj["metadata"]["name"], obj["spec"]["template"]
        location = self.ctx.location(template.get("location"))
        if location.spec.read_only:
            return ""
        planned = plan_prune(location, policy, selector=schedule_selector(schedule), now=self.clock())
        # The repository's password: fs volumes and database dumps are deleted from it too.
        result = prune(self.ctx.client, location, planned, repo_password=self.ctx.repo_password(template))
        names = {b["metadata"]["name"] for b in backups}
        for name in result.deleted:
            if name in names:
                self.ctx.client.delete_if_present(item("backups", self.ctx.namespace, name))
        if result.failed:
            first, error = next(iter(result.failed.items()))
            return f"retention could not delete {first}: {error.message}"
        return ""
