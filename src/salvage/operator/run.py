"""Starting the operator: its context, its reconcilers and the controller loop."""

from __future__ import annotations

import threading

from salvage.k8s.client import KubeClient
from salvage.operator.backup_locations import BackupLocationReconciler
from salvage.operator.backups import BackupReconciler
from salvage.operator.context import OperatorContext
from salvage.operator.controller import Controller, new_identity
from salvage.operator.drills import DrillReconciler
from salvage.operator.metrics import PORT, Metrics
from salvage.operator.restores import RestoreReconciler
from salvage.operator.schedules import ScheduleReconciler


def controller(client: KubeClient, namespace: str, *, identity: str | None = None, workers: int = 4,
               lease_seconds: int = 15, renew_seconds: float = 5.0, drain_seconds: float = 25.0,
               metrics: Metrics | None = None, progress_seconds: float = 5.0) -> Controller:
    ctx = OperatorContext(client, namespace, identity or new_identity(), metrics or Metrics(),
                          progress_seconds=progress_seconds)
    reconcilers = [BackupLocationReconciler(ctx), BackupReconciler(ctx), RestoreReconciler(ctx),
                   ScheduleReconciler(ctx), DrillReconciler(ctx)]
    return Controller(ctx, reconcilers, workers=workers, lease_seconds=lease_seconds, renew_seconds=renew_seconds,
                      drain_seconds=drain_seconds)


def run_operator(client: KubeClient, namespace: str, stop: threading.Event, *, metrics_port: int = PORT,
                 **options: object) -> None:
    """Serve /metrics (unless ``metrics_port`` is 0) and run until ``stop`` is set (or the
    Lease is lost: LeadershipLost)."""
    metrics = Metrics()
    if metrics_port:
        metrics.serve(metrics_port)
    controller(client, namespace, metrics=metrics, **options).run(stop)  # type: ignore[arg-type]
