"""``salvage driver hostpath-node``: the hostpath driver's CSI node plugin for a kubelet."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer


def hostpath_node(
    node_id: Annotated[str, typer.Option("--node-id", help="The node's name, as kubelet registers it.")],
    csi_socket: Annotated[Path, typer.Option("--csi-socket", help="Unix socket to serve CSI on.")],
    registration_dir: Annotated[Path, typer.Option(
        "--registration-dir", help="kubelet's plugin registry (ROOT-DIR/plugins_registry).")],
) -> None:
    """Mount hostpath.salvage.io volumes into pods for kubelet (runs until stopped)."""
    from salvage.drivers.hostpath.node_plugin import NodePlugin

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    plugin = NodePlugin(node_id, csi_socket.resolve(), registration_dir.resolve())
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    plugin.start()
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        plugin.stop()
