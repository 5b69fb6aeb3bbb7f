"""What a claim's StorageClass says about binding."""

from __future__ import annotations

from typing import Any

from salvage.k8s.client import KubeClient


def binds_on_first_use(client: KubeClient, claim: dict[str, Any]) -> bool:
    """Whether the claim's StorageClass binds it only once a pod uses it (WaitForFirstConsumer)."""
    name = (claim.get("spec") or {}).get("storageClassName")
    found = client.find(f"/apis/storage.k8s.io/v1/storageclasses/{name}") if name else None
    return bool(found and found.get("volumeBindingMode") == "WaitForFirstConsumer")
