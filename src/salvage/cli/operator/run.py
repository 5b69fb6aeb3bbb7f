"""``salvage operator run``."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client


def run(
    ctx: typer.Context,
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", envvar="SALVAGE_NAMESPACE",
        help="Namespace of the custom resources, Secrets and Lease (default: the context's, or the pod's).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Objects reconciled at once (backups and restores run "
                                                          "on these).")] = 4,
    lease_seconds: Annotated[int, typer.Option("--lease-seconds", help="How long a silent leader keeps the Lease.")] = 15,
    metrics_port: Annotated[int, typer.Option("--metrics-port", help="Port of /metrics (Prometheus); 0: none.")] = 8080,
    drain_seconds: Annotated[float, typer.Option("--drain-seconds", help="On SIGTERM, how long backups and "
                                                                         "restores in flight may finish.")] = 25.0,
    progress_seconds: Annotated[float, typer.Option(
        "--progress-seconds", min=0.5,
        help="How often a running backup's or restore's status.progress is written.")] = 5.0,
) -> None:
    """Reconcile Backup, Restore and BackupLocation objects until stopped (SIGTERM, Ctrl-C).

    Replicas elect one leader through a Lease; the others wait. Logs go to stderr.

    Examples:
      # From this machine, against the current context's namespace `salvage`
      salvage operator run -n salvage
    """
    from salvage.operator.run import run_operator

    app = app_of(ctx)
    logging.basicConfig(level=logging.DEBUG if app.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with kube_client(app) as client:
        ns = namespace or os.environ.get("POD_NAMESPACE") or client.connection.namespace
        try:
            run_operator(client, ns, stop, metrics_port=metrics_port, workers=workers, lease_seconds=lease_seconds,
                         drain_seconds=drain_seconds, progress_seconds=progress_seconds,
                         renew_seconds=max(1.0, lease_seconds / 3))
        except KeyboardInterrupt:
            stop.set()
