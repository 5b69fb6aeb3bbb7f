"""A schedule exports its expected interval (what the staleness alert compares against)
only while it is enabled: paused, invalid or deleted, it can never look stale."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.operator.metrics import Metrics
from salvage.operator.schedules import ScheduleReconciler


class _Ctx:
    def __init__(self) -> None:
        self.metrics = Metrics()
        self.statuses: list[dict[str, Any]] = []

    def write_status(self, plural: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        self.statuses.append(status)


def _schedule(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "nightly", "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1},
            "spec": {"schedule": "0 2 * * *", "template": {}, **spec}}


def _interval(ctx: _Ctx) -> float | None:
    return ctx.metrics.registry.get_sample_value("salvage_schedule_expected_interval_seconds",
                                                 {"schedule": "nightly"})


@pytest.mark.parametrize("spec, phase", [({"paused": True}, "Paused"), ({"schedule": "61 * * * *"}, "Invalid")])
def test_a_paused_or_invalid_schedule_exports_no_interval(spec: dict[str, Any], phase: str) -> None:
    ctx = _Ctx()
    ctx.metrics.schedule_enabled("nightly", 86400, 1.0)  # as it was while enabled
    assert _interval(ctx) == 86400
    assert ScheduleReconciler(ctx).reconcile(_schedule(**spec)) is None  # type: ignore[arg-type]
    assert ctx.statuses[-1]["phase"] == phase
    assert _interval(ctx) is None
    assert ctx.metrics.registry.get_sample_value("salvage_schedule_created_timestamp_seconds",
                                                 {"schedule": "nightly"}) is None


def test_a_deleted_schedule_is_forgotten() -> None:
    ctx = _Ctx()
    ctx.metrics.schedule_enabled("nightly", 86400, 1.0)
    ctx.metrics.completed_at("nightly", 5.0)
    ScheduleReconciler(ctx).forget(_schedule())  # type: ignore[arg-type]
    assert _interval(ctx) is None
    assert ctx.metrics.registry.get_sample_value("salvage_backup_last_success_timestamp_seconds",
                                                 {"schedule": "nightly"}) == 5.0, "its history stays"
