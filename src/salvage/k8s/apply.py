"""Create-or-replace of whole objects we own (install manifests, CRDs), by collection path."""

from __future__ import annotations

import time
from typing import Any

from salvage.k8s.api_groups import crds
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import has_condition
from salvage.k8s.waits import wait_for
from salvage.model.errors import KubernetesError, NotReadyError

JSON = dict[str, Any]

CRDS = crds()


def apply(client: KubeClient, collection: str, body: JSON) -> str:
    """Create ``body`` in ``collection``, or replace the object of that name; "created" or
    "configured" (as kubectl says)."""
    if client.create_if_absent(collection, body):
        return "created"
    path = f"{collection}/{body['metadata']['name']}"
    current = client.get(path)
    replacement = dict(body, metadata={**body["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]})
    client.replace(path, replacement)
    return "configured"


def wait_established(client: KubeClient, names: list[str], timeout: float = 30.0) -> None:
    """Wait until each CRD serves its resource (Established), so objects of it can be created."""
    deadline = time.monotonic() + timeout
    for name in names:
        try:
            wait_for(client, crds(name), lambda crd: crd is not None and has_condition(crd, "Established"), deadline,
                     f"CustomResourceDefinition {name}", interval=0.2)
        except NotReadyError:
            raise KubernetesError(f"CustomResourceDefinition {name} is not Established after {timeout:.0f}s.",
                                  hint=f"Look at its conditions: `kubectl describe crd {name}`.") from None
