"""Record Kubernetes Events on objects, the way controllers tell users what happened."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from salvage.k8s.client import KubeClient


def record_event(client: KubeClient, obj: dict[str, Any], *, reason: str, message: str,
                 type_: str = "Normal", component: str = "salvage") -> None:
    """Create a core/v1 Event about ``obj`` (best effort: events are advisory)."""
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace") or "default"
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'object')}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
            "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        client.create(f"/api/v1/namespaces/{namespace}/events", event)
    except Exception:  # noqa: BLE001 - an event we cannot write must not stop the controller
        pass


def events_for(client: KubeClient, namespace: str, name: str) -> list[dict[str, Any]]:
    """Events about the object ``name`` in ``namespace``, oldest first."""
    items = client.list(f"/api/v1/namespaces/{namespace}/events",
                        fieldSelector=f"involvedObject.name={name}")
    return sorted(items, key=lambda e: e.get("lastTimestamp") or "")
