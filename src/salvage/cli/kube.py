"""The Kubernetes client for a command, from the global --kubeconfig/--context options."""

from __future__ import annotations

from salvage.cli.context import App
from salvage.k8s.client import KubeClient


def kube_client(app: App) -> KubeClient:
    return KubeClient.from_kubeconfig(app.kubeconfig, app.context)
