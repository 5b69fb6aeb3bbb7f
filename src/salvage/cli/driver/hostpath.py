"""``salvage driver hostpath``: run the hostpath provisioner and snapshotter."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.drivers.hostpath.controller import Controller
from salvage.k8s.client import KubeClient


def hostpath(
    ctx: typer.Context,
    root: Annotated[Path, typer.Option("--root", help="Directory that holds volumes and snapshots.")],
    snapshot_root: Annotated[Path | None, typer.Option(
        "--snapshot-root", help="Directory for snapshots (default ROOT/snapshots); may be shared by clusters.")] = None,
    health_address: Annotated[
        str | None, typer.Option("--health-address", help="host:port to serve /healthz on.")
    ] = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between reconcile passes.")] = 0.5,
) -> None:
    """Provision PVs and take snapshots for the `hostpath.salvage.io` driver (runs until stopped).

    Examples:
      # `salvage dev cluster up` starts it as one of the cluster's components
      salvage driver hostpath --root /srv/hostpath --health-address 127.0.0.1:9808
    """
    app = app_of(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the log
    client = KubeClient.from_kubeconfig(app.kubeconfig, app.context)
    controller = Controller(client, root.resolve(), snapshot_root=snapshot_root.resolve() if snapshot_root else None,
                            interval=interval)
    if health_address:
        controller.serve_health(health_address)
    signal.signal(signal.SIGTERM, lambda *_: controller.stopping.set())
    try:
        controller.run()
    except KeyboardInterrupt:
        pass
