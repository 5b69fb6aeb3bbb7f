"""The Restore reconciler: a New restore is run through the restore engine and its report
written to status (counts per action, failures with reasons). One another operator left
InProgress is Failed with the reason: a restore is re-run by a new Restore, not resumed."""

from __future__ import annotations

from salvage.engines.backup_restore import RestoreRequest, restore_backup
from salvage.engines.selection import Selection
from salvage.model.errors import SalvageError
from salvage.operator.context import JSON, OperatorContext, now_text, orphan_reason, run_state
from salvage.operator.live_status import LiveStatus

PLURAL = "restores"
MAX_FAILURES = 100  # status stays small; the first ones say what went wrong


def restore_request(name: str, spec: JSON, repo_password: str | None) -> RestoreRequest:
    """The engine's request for a Restore's spec (the options of `salvage restore create`)."""
    return RestoreRequest(
        name=name, backup=spec["backupName"],
        selection=Selection(tuple(spec.get("includeNamespaces") or ("*",)), tuple(spec.get("excludeNamespaces") or ()),
                            tuple(spec.get("includeResources") or ("*",)), tuple(spec.get("excludeResources") or ())),
        selector=spec.get("labelSelector"),
        namespace_map=dict(spec.get("namespaceMapping") or {}),
        class_map=dict(spec.get("storageClassMapping") or {}),
        existing_policy=spec.get("existingResourcePolicy", "none"),
        dry_run=spec.get("dryRun", False), wait=spec.get("wait", True),
        timeout=float(spec.get("timeoutSeconds", 300)),
        repo_password=repo_password,
    )


class RestoreReconciler:
    plural = PLURAL

    def __init__(self, ctx: OperatorContext) -> None:
        self.ctx = ctx

    def reconcile(self, obj: JSON) -> float | None:
        state = run_state(obj, self.ctx.identity)
        if state == "new":
            self._run(obj)
        elif state == "orphaned":
            self.ctx.write_status(PLURAL, obj, {"phase": "Failed", "completed": now_text(), "reason": orphan_reason(
                obj, "objects it created stay; create a new Restore (existingResourcePolicy none skips them)")})
        return None

    def _run(self, obj: JSON) -> None:
        name, spec = obj["metadata"]["name"], obj["spec"]
        self.ctx.write_status(PLURAL, obj, {"phase": "InProgress", "operator": self.ctx.identity,
                                            "started": now_text()})
        self.ctx.metrics.restore_started()
        live = LiveStatus(self.ctx, PLURAL, obj)
        try:
            location = self.ctx.location(spec.get("location") or self._backup_location(spec["backupName"]))
            with live:
                report = restore_backup(self.ctx.client, location,
                                        restore_request(name, spec, self.ctx.repo_password(spec)), live)
        except SalvageError as exc:
            self.ctx.metrics.restore_finished("Failed")
            self.ctx.fail(PLURAL, obj, exc)
            return
        status: JSON = {
            "phase": "Completed" if report.phase == "Planned" else report.phase,
            "counts": report.counts, "warnings": report.warnings[:50], "errors": report.errors[:50],
            "failures": [{"resource": f.resource, "namespace": f.namespace, "name": f.name, "reason": f.reason}
                         for f in report.failures[:MAX_FAILURES]],
            "completed": now_text(), "progress": live.progress(), "resourceCounts": live.per_resource(),
        }
        self.ctx.metrics.restore_finished(status["phase"])
        if report.errors or report.failures:
            status["reason"] = (report.errors or [f"{len(report.failures)} item(s) failed"])[0]
        self.ctx.write_status(PLURAL, obj, status)

    def _backup_location(self, backup: str) -> str | None:
        """The location of the Backup object of that name, if there is one."""
        found = self.ctx.find("backups", backup)
        return ((found or {}).get("status") or {}).get("location")
