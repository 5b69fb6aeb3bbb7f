"""The Drill reconciler's Prometheus metrics, in the operator's registry (operator/metrics.py).

One label, ``drill`` (the Drill resource's name: one per resource, never one per run).
Gauges hold the newest drill's numbers; counters count runs. The example alerts in
deploy/alerts.yaml fire when a drill fails (``increase(salvage_drill_failures_total[...])``)
and when none has passed for too long (``salvage_drill_last_success_timestamp_seconds``)."""

from __future__ import annotations

import threading
import weakref

from prometheus_client import Counter, Gauge

from salvage.operator.metrics import Metrics

_made: weakref.WeakKeyDictionary[Metrics, DrillMetrics] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class DrillMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r, drill = metrics.registry, ["drill"]
        self.attempts = Counter("salvage_drill_attempts", "Drills started.", drill, registry=r)
        self.success = Counter("salvage_drill_success", "Drills passed.", drill, registry=r)
        self.failures = Counter("salvage_drill_failures", "Drills failed (a check, the restore, or the "
                                                          "drill could not start).", drill, registry=r)
        self.last_success = Gauge("salvage_drill_last_success_timestamp_seconds",
                                  "When the newest passing drill ended (Unix time).", drill, registry=r)
        self.last_failed = Gauge("salvage_drill_last_failed", "1 if the newest drill failed, else 0.", drill,
                                 registry=r)
        self.recovery_time = Gauge("salvage_drill_recovery_time_seconds",
                                   "The newest passing drill's recovery time: from its start until every check "
                                   "passed.", drill, registry=r)
        self.recovery_point = Gauge("salvage_drill_recovery_point_seconds",
                                    "The drilled backup's age when the newest drill started.", drill, registry=r)
        self.phase_seconds = Gauge("salvage_drill_recovery_seconds",
                                   "The newest drill's seconds per phase (verify, volumes, objects, readiness, "
                                   "databases, checks).", ["drill", "phase"], registry=r)

    def finished(self, drill: str, passed: bool, *, ended: float, recovery_time: float | None,
                 recovery_point: float | None, phases: dict[str, float]) -> None:
        (self.success if passed else self.failures).labels(drill).inc()
        self.last_failed.labels(drill).set(0 if passed else 1)
        if passed:
            self.last_success.labels(drill).set(ended)
        if passed and recovery_time is not None:
            self.recovery_time.labels(drill).set(recovery_time)
        if recovery_point is not None:
            self.recovery_point.labels(drill).set(recovery_point)
        for phase, seconds in phases.items():
            self.phase_seconds.labels(drill, phase).set(seconds)

    def last_passed_at(self, drill: str, unix_time: float) -> None:
        """A passing drill's end found in a Drill's status (an operator restarted): the gauge
        keeps the newest."""
        gauge = self.last_success.labels(drill)
        if unix_time > gauge._value.get():  # noqa: SLF001 - a max without a second metric
            gauge.set(unix_time)


def drill_metrics(metrics: Metrics) -> DrillMetrics:
    """The drill metrics of this operator's registry (made once: a registry takes each name once)."""
    with _lock:
        if metrics not in _made:
            _made[metrics] = DrillMetrics(metrics)
        return _made[metrics]
