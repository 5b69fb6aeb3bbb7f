"""A BackupLocation is checked on its period, not each time its own status write comes back."""

from __future__ import annotations

from salvage.model.errors import UsageError
from salvage.operator.backup_locations import BackupLocationReconciler
from salvage.operator.context import now_text
from salvage.operator.metrics import Metrics


class _NoCluster:
    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the reconciler touched {name}: it should wait for its period")


def _location(**status: object) -> dict:  # type: ignore[type-arg]
    return {"metadata": {"name": "l", "generation": 2},
            "spec": {"provider": "filesystem", "bucket": "/nowhere", "checkPeriodSeconds": 30}, "status": status}


def test_a_fresh_check_is_not_repeated() -> None:
    again = BackupLocationReconciler(_NoCluster()).reconcile(  # type: ignore[arg-type]
        _location(lastChecked=now_text(), observedGeneration=2, phase="Available"))
    assert again is not None and 25 < again <= 30


def test_an_edited_spec_is_checked_at_once() -> None:
    touched = []

    class _Ctx(_NoCluster):
        def location_spec(self, obj):  # type: ignore[no-untyped-def]
            touched.append(obj)
            raise UsageError("bad")

        metrics = Metrics()

        def write_status(self, plural, obj, status):  # type: ignore[no-untyped-def]
            touched.append(status)

    BackupLocationReconciler(_Ctx()).reconcile(  # type: ignore[arg-type]
        _location(lastChecked=now_text(), observedGeneration=1, phase="Available"))
    assert touched[-1]["phase"] == "Unavailable" and touched[-1]["reason"] == "bad"
    assert _Ctx.metrics.registry.get_sample_value("salvage_location_available", {"location": "l"}) == 0
