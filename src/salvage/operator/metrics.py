"""The operator's Prometheus metrics (served on /metrics, port 8080).

Naming as Prometheus asks: prefix ``salvage_``, base units (seconds, bytes), ``_total`` on
counters, and no per-backup labels (a label per backup name would grow without end): only
``schedule`` (empty for a backup no schedule made) and ``location``. Staleness is one alert:
``time() - salvage_backup_last_success_timestamp_seconds > 1.5 *
salvage_schedule_expected_interval_seconds`` (deploy/alerts.yaml)."""

from __future__ import annotations

import threading

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

PORT = 8080
_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf"))


class Metrics:
    """One registry per operator (tests make their own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r, sched = self.registry, ["schedule"]
        self.backup_attempts = Counter("salvage_backup_attempts", "Backups started.", sched, registry=r)
        self.backup_success = Counter("salvage_backup_success", "Backups Completed.", sched, registry=r)
        self.backup_partial = Counter("salvage_backup_partial_failure", "Backups PartiallyFailed.", sched, registry=r)
        self.backup_failure = Counter("salvage_backup_failure", "Backups Failed.", sched, registry=r)
        self.backup_duration = Histogram("salvage_backup_duration_seconds", "Time a backup took.", sched,
                                         buckets=_DURATION_BUCKETS, registry=r)
        self.last_success = Gauge("salvage_backup_last_success_timestamp_seconds",
                                  "When the newest Completed backup finished (Unix time).", sched, registry=r)
        self.backup_items = Counter("salvage_backup_items", "Objects backed up.", sched, registry=r)
        self.backup_bytes = Counter("salvage_backup_bytes", "Bytes written to locations by backups.", sched,
                                    registry=r)
        self.restore_attempts = Counter("salvage_restore_attempts", "Restores started.", registry=r)
        self.restore_success = Counter("salvage_restore_success", "Restores Completed.", registry=r)
        self.restore_partial = Counter("salvage_restore_partial_failure", "Restores PartiallyFailed.", registry=r)
        self.restore_failure = Counter("salvage_restore_failure", "Restores Failed.", registry=r)
        self.schedule_delay = Histogram("salvage_schedule_delay_seconds",
                                        "From a schedule's firing time to its Backup object.", sched,
                                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, float("inf")),
                                        registry=r)
        self.expected_interval = Gauge("salvage_schedule_expected_interval_seconds",
                                       "Time between a schedule's runs.", sched, registry=r)
        self.location_available = Gauge("salvage_location_available",
                                        "1 if the location answered its last check, else 0.", ["location"],
                                        registry=r)
        self._lock = threading.Lock()

    def backup_started(self, schedule: str) -> None:
        self.backup_attempts.labels(schedule).inc()

    def backup_finished(self, schedule: str, phase: str, seconds: float, items: int, bytes_written: int) -> None:
        counter = {"Completed": self.backup_success, "PartiallyFailed": self.backup_partial}.get(
            phase, self.backup_failure)
        counter.labels(schedule).inc()
        self.backup_duration.labels(schedule).observe(seconds)
        self.backup_items.labels(schedule).inc(items)
        self.backup_bytes.labels(schedule).inc(bytes_written)

    def completed_at(self, schedule: str, unix_time: float) -> None:
        """A Completed backup seen (run now, or found at start): the gauge keeps the newest."""
        with self._lock:
            gauge = self.last_success.labels(schedule)
            if unix_time > gauge._value.get():  # noqa: SLF001 - a max without a second metric
                gauge.set(unix_time)

    def restore_finished(self, phase: str) -> None:
        {"Completed": self.restore_success, "PartiallyFailed": self.restore_partial}.get(
            phase, self.restore_failure).inc()

    def serve(self, port: int = PORT) -> None:
        start_http_server(port, registry=self.registry)
