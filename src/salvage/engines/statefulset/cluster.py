"""The cluster operations recover, clone and rotate share: waiting, removing, reading."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from salvage.engines.statefulset.naming import claim_ordinal, claim_templates, pod_name
from salvage.k8s.api_groups import SNAPSHOTS
from salvage.k8s.client import KubeClient
from salvage.k8s.events import events_for
from salvage.k8s.quantity import parse_quantity
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError



class NotReadyError(SalvageError):
    """Something did not reach the state it was waited for in time."""


def statefulset_path(namespace: str, name: str | None = None) -> str:
    base = f"/apis/apps/v1/namespaces/{namespace}/statefulsets"
    return f"{base}/{name}" if name else base


def claim_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    return f"{base}/{name}" if name else base


def pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}"


def get_or_none(client: KubeClient, path: str) -> dict[str, Any] | None:
    try:
        return client.get(path)
    except KubernetesError as exc:
        if exc.status == 404:
            return None
        raise


def volume_snapshot(client: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    found = get_or_none(client, f"{SNAPSHOTS}/namespaces/{namespace}/volumesnapshots/{name}")
    if found is None:
        raise NotFoundError(f"There is no VolumeSnapshot {name!r} in namespace {namespace}.",
                            hint=f"List them with `kubectl get volumesnapshots -n {namespace}`.")
    return found


def restore_size(snapshot: dict[str, Any]) -> int:
    size = (snapshot.get("status") or {}).get("restoreSize")
    return parse_quantity(size) if size else 0


def wait_until(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while True:
        try:
            if condition():
                return
        except KubernetesError as exc:
            if exc.status not in (404, 409):
                raise
        if time.monotonic() > deadline:
            raise NotReadyError(f"Timed out waiting for {what}.")
        time.sleep(0.25)


# Waiting reasons that do not clear by themselves: the wait ends at once with the reason.
_HOPELESS = ("ErrImageNeverPull", "InvalidImageName")


def pods_running(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> bool:
    for ordinal in range(replicas):
        pod = get_or_none(client, pod_path(namespace, pod_name(statefulset, ordinal)))
        if pod is not None:
            _refuse_hopeless(namespace, pod)
        if pod is None or pod["metadata"].get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Running":
            return False
        owners = [o.get("name") for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]
        if owners != [statefulset]:
            return False  # an orphan not adopted yet
    return True


def pod_trouble(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> str:
    """Which of a StatefulSet's pods are not Running under it, and why: for error messages."""
    problems = []
    for ordinal in range(replicas):
        name = pod_name(statefulset, ordinal)
        pod = get_or_none(client, pod_path(namespace, name))
        if pod is None:
            problems.append(f"pod {name} does not exist")
            continue
        owners = [o.get("name") for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]
        phase = pod.get("status", {}).get("phase")
        if pod["metadata"].get("deletionTimestamp"):
            problems.append(f"pod {name} is being deleted")
        elif phase != "Running":
            problems.append(f"pod {name} is {phase}{_waiting_reason(pod)}")
        elif owners != [statefulset]:
            problems.append(f"pod {name} is not adopted by {statefulset} (owners: {owners or 'none'})")
    return "; ".join(problems)


def _waiting_reason(pod: dict[str, Any]) -> str:
    """Why a pod's containers wait (`ErrImageNeverPull: ...`), as kubectl describe shows it."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
            return f" ({waiting['reason']}: {waiting.get('message') or 'no message'})"
    return ""


def _refuse_hopeless(namespace: str, pod: dict[str, Any]) -> None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in _HOPELESS:
            continue
        image = status.get("image") or "?"
        local = image.split("/", 1)[1].split(":")[0] if image.startswith("salvage.local/") else None
        raise NotReadyError(
            f"Pod {pod['metadata']['name']} in namespace {namespace} cannot start: "
            f"{waiting['reason']}: {waiting.get('message') or image}.",
            hint=(f"Image {image} is not on the node: build and import it with "
                  f"`salvage dev images build {local}`." if local else
                  f"Check the image name, or load {image} on the node; `kubectl describe pod -n {namespace} "
                  f"{pod['metadata']['name']}` shows the details."))


def pods_gone(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> bool:
    return all(get_or_none(client, pod_path(namespace, pod_name(statefulset, o))) is None for o in range(replicas))


def delete_and_wait(client: KubeClient, path: str, deadline: float, what: str, **params: Any) -> None:
    client.delete_if_present(path, **params)
    wait_until(lambda: get_or_none(client, path) is None, deadline, f"{what} to be deleted")


def claims_of(client: KubeClient, namespace: str, statefulset: dict[str, Any]) -> list[str]:
    """Every PVC in ``namespace`` named like one of this StatefulSet's claims, any ordinal."""
    name = statefulset["metadata"]["name"]
    templates = claim_templates(statefulset)
    return sorted(c["metadata"]["name"] for c in client.list(claim_path(namespace))
                  if any(claim_ordinal(c["metadata"]["name"], t, name) is not None for t in templates))


def claim_trouble(client: KubeClient, namespace: str, claims: list[str]) -> str:
    """Why claims are not bound, from their phase and latest event: for error messages."""
    problems = []
    for name in claims:
        claim = get_or_none(client, claim_path(namespace, name))
        phase = (claim or {}).get("status", {}).get("phase") or "absent"
        if phase == "Bound":
            continue
        # A driver's warning says why; the controller's "waiting for the provisioner" does not.
        events = sorted(events_for(client, namespace, name), key=lambda e: e.get("type") == "Warning")
        last = events[-1].get("message") if events else None
        problems.append(f"claim {name} is {phase}" + (f" ({last})" if last else ""))
    return "; ".join(problems)
