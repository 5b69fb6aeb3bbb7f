"""The driver's main loop: fetch the world, reconcile volumes and snapshots, repeat."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from salvage.drivers.hostpath.disk import Disk
from salvage.drivers.hostpath.provisioner import Provisioner
from salvage.drivers.hostpath.snapshotter import Snapshotter
from salvage.drivers.hostpath.world import World
from salvage.k8s.client import KubeClient

log = logging.getLogger("salvage.hostpath")

# How long a pass may be missing before /healthz reports the driver unhealthy.
_STALE_AFTER = 15.0


class Controller:
    def __init__(self, client: KubeClient, root: Path, *, snapshot_root: Path | None = None,
                 interval: float = 0.5) -> None:
        self.disk = Disk(root, snapshot_root)
        self.disk.check_writable()
        self.client = client
        self.interval = interval
        self.provisioner = Provisioner.create(client, self.disk)
        self.snapshotter = Snapshotter(client, self.disk)
        self.last_pass = 0.0
        self.stopping = threading.Event()

    def run_once(self) -> None:
        world = World.fetch(self.client)
        self.snapshotter.sync(world)
        self.provisioner.sync(world)
        self.last_pass = time.monotonic()

    def run(self) -> None:
        log.info("hostpath driver started; root %s", self.disk.root)
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the API server restarting: keep going
                log.exception("reconcile pass failed; retrying")
            self.stopping.wait(self.interval)

    def healthy(self) -> bool:
        return time.monotonic() - self.last_pass < _STALE_AFTER

    def serve_health(self, address: str) -> ThreadingHTTPServer:
        host, port = address.rsplit(":", 1)
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                ok = self.path == "/healthz" and controller.healthy()
                self.send_response(200 if ok else 503)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"not synced")

            def log_message(self, *args: object) -> None:
                return

        server = ThreadingHTTPServer((host, int(port)), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
