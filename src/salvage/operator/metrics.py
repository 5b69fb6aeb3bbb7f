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
        self.backup_items = Counter("salvage_backup_items", "Objects backed up (counted as each resource type "
                                    "is written).", sched, registry=r)
        self.backup_volume_bytes = Counter("salvage_backup_volume_bytes", "Bytes of volume data read by "
                                           "backups' data-mover pods (as they go).", sched, registry=r)
        self.backups_running = Gauge("salvage_backups_in_progress", "Backups running now.", sched, registry=r)
        self.backup_bytes = Counter("salvage_backup_bytes", "Bytes written to locations by backups.", sched,
                                    registry=r)
        self.restore_attempts = Counter("salvage_restore_attempts", "Restores started.", registry=r)
        self.restore_success = Counter("salvage_restore_success", "Restores Completed.", registry=r)
        self.restore_partial = Counter("salvage_restore_partial_failure", "Restores PartiallyFailed.", registry=r)
        self.restore_failure = Counter("salvage_restore_failure", "Restores Failed.", registry=r)
        self.restore_items = Counter("salvage_restore_items", "Objects restored, by what was done to each "
                                     "(created, updated, skipped, failed, planned).", ["action"], registry=r)
        self.restore_volume_bytes = Counter("salvage_restore_volume_bytes", "Bytes of volume data written by "
                                            "restores' data-mover pods (as they go).", registry=r)
        self.restores_running = Gauge("salvage_restores_in_progress", "Restores running now.", registry=r)
        self.schedule_delay = Histogram("salvage_schedule_delay_seconds",
                                        "From a schedule's firing time to its Backup object.", sched,
                                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, float("inf")),
                                        registry=r)
        self.expected_interval = Gauge("salvage_schedule_expected_interval_seconds",
                                       "Time between a schedule's runs (only while it is enabled).", sched,
                                       registry=r)
        self.schedule_created = Gauge("salvage_schedule_created_timestamp_seconds",
                                      "When an enabled schedule was made (Unix time): staleness of a schedule "
                                      "that never had a Completed backup counts from here.", sched, registry=r)
        self.location_available = Gauge("salvage_location_available",
                                        "1 if the location answered its last check, else 0.", ["location"],
                                        registry=r)
        self._lock = threading.Lock()

    def backup_started(self, schedule: str) -> None:
        self.backup_attempts.labels(schedule).inc()
        self.backups_running.labels(schedule).inc()

    def backup_finished(self, schedule: str, phase: str, seconds: float, bytes_written: int) -> None:
        """A run's outcome (its items and volume bytes were counted live, from its progress)."""
        counter = {"Completed": self.backup_success, "PartiallyFailed": self.backup_partial}.get(
            phase, self.backup_failure)
        counter.labels(schedule).inc()
        self.backups_running.labels(schedule).dec()
        self.backup_duration.labels(schedule).observe(seconds)
        self.backup_bytes.labels(schedule).inc(bytes_written)

    def schedule_enabled(self, schedule: str, interval: float, created: float) -> None:
        self.expected_interval.labels(schedule).set(interval)
        self.schedule_created.labels(schedule).set(created)

    def schedule_disabled(self, schedule: str) -> None:
        """Paused, invalid or deleted: no staleness alert for it (its other series stay)."""
        self.expected_interval.remove(schedule)
        self.schedule_created.remove(schedule)

    def completed_at(self, schedule: str, unix_time: float) -> None:
        """A Completed backup seen (run now, or found at start): the gauge keeps the newest."""
        with self._lock:
            gauge = self.last_success.labels(schedule)
            if unix_time > gauge._value.get():  # noqa: SLF001 - a max without a second metric
                gauge.set(unix_time)

    def restore_started(self) -> None:
        self.restore_attempts.inc()
        self.restores_running.inc()

    def restore_finished(self, phase: str) -> None:
        {"Completed": self.restore_success, "PartiallyFailed": self.restore_partial}.get(
            phase, self.restore_failure).inc()
        self.restores_running.dec()

    def serve(self, port: int = PORT) -> None:
        start_http_server(port, registry=self.registry)
