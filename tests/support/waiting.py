"""Wait on a condition with a timeout: the only way tests wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> T:
    """Call ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last value: {last!r})")
        time.sleep(interval)
        last = condition()
    return last


def pod_ready(kube, namespace: str, name: str, *, timeout: float = 180.0) -> dict:  # type: ignore[no-untyped-def]
    """Wait until every container of a pod on the real node is ready; on a timeout the
    failure shows the pod's status and events, which say why (scheduling, volume, image)."""
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"

    def check() -> dict | None:  # type: ignore[type-arg]
        pod = kube.get(path) if kube.exists(path) else None
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or []
        return pod if statuses and all(s.get("ready") for s in statuses) else None

    try:
        return wait_for(check, timeout=timeout, what=f"pod {namespace}/{name} ready")
    except AssertionError as exc:
        from salvage.k8s.events import events_for

        pod = kube.get(path) if kube.exists(path) else {}
        events = [f"{e.get('reason')}: {e.get('message')}" for e in events_for(kube, namespace, name)]
        raise AssertionError(f"{exc}\nstatus: {pod.get('status')}\nnode: {pod.get('spec', {}).get('nodeName')}\n"
                             f"events: {events}") from None
