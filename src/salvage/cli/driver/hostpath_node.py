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
    kubelet_dir: Annotated[Path, typer.Option(
        "--kubelet-dir", help="kubelet's root directory: the plugin's socket goes under its plugins/, "
        "and its registration under plugins_registry/.")] = Path("/var/lib/kubelet"),
) -> None:
    """Mount hostpath.salvage.io volumes into pods for kubelet (runs until stopped).

    The local cluster's real node runs it; kubelet finds it through its plugin registry.

    Examples:
      # `salvage dev cluster up` starts it on the cluster's real node
      salvage driver hostpath-node --node-id node-0 --kubelet-dir /var/lib/kubelet
    """
    from salvage.drivers.hostpath.node_plugin import NodePlugin

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    plugin = NodePlugin.for_kubelet(node_id, kubelet_dir.resolve())
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    plugin.start()
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        plugin.stop()
