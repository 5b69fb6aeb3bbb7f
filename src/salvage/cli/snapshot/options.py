"""Options shared by the snapshot commands, and the client they all open."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import App
from salvage.k8s.client import KubeClient

Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the kubeconfig context's namespace)."),
]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait with --wait.")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until the result is ready.")]


def open_client(app: App, namespace: str | None) -> tuple[KubeClient, str]:
    """A client for the global --kubeconfig/--context, and the namespace to act in."""
    client = KubeClient.from_kubeconfig(app.kubeconfig, app.context, on_retry=app.terminal.warn)
    return client, namespace or client.connection.namespace

