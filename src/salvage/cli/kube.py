"""The Kubernetes client for a command, from the global --kubeconfig/--context options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salvage.cli.context import App

if TYPE_CHECKING:
    from salvage.k8s.client import KubeClient


def kube_client(app: App) -> KubeClient:
    # Imported here: commands that may never talk to a cluster (fs, repo) start faster
    # without the HTTP stack.
    from salvage.k8s.client import KubeClient

    return KubeClient.from_kubeconfig(app.kubeconfig, app.context, on_retry=app.terminal.warn)
