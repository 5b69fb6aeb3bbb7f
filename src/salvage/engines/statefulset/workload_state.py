"""What recover, clone and rotate read of a StatefulSet's objects on the cluster: its pods
Running under it (or why not), its claims bound (or why not). The waits and deletes
themselves are k8s/'s (waits.py), as is why a pod is not ready (pods.py)."""

from __future__ import annotations

from typing import Any

from salvage.engines.statefulset.naming import claim_ordinal, claim_templates, pod_name
from salvage.k8s import pods
from salvage.k8s.api_groups import apps, core, snapshots
from salvage.k8s.client import KubeClient
from salvage.k8s.events import events_for
from salvage.k8s.quantity import parse_quantity
from salvage.model.errors import NotFoundError

def statefulset_path(namespace: str, name: str | None = None) -> str:
    return apps("statefulsets", namespace, name)


def claim_path(namespace: str, name: str | None = None) -> str:
    return core("persistentvolumeclaims", namespace, name)


def pod_path(namespace: str, name: str) -> str:
    return core("pods", namespace, name)


def volume_snapshot(client: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    found = client.find(snapshots("volumesnapshots", namespace, name))
    if found is None:
        raise NotFoundError(f"There is no VolumeSnapshot {name!r} in namespace {namespace}.",
                            hint=f"List them with `kubectl get volumesnapshots -n {namespace}`.")
    return found


def restore_size(snapshot: dict[str, Any]) -> int:
    size = (snapshot.get("status") or {}).get("restoreSize")
    return parse_quantity(size) if size else 0


def pods_running(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> bool:
    """Whether every ordinal's pod is Running under the StatefulSet (an orphan not adopted yet
    is not); ``NotReadyError`` at once for a pod that can never start (k8s/pods.py)."""
    for ordinal in range(replicas):
        pod = client.find(pod_path(namespace, pod_name(statefulset, ordinal)))
        if pod is not None:
            pods.refuse_never_starts(pod, namespace)
        if pod is None or not pods.is_running(pod) or pods.controller_names(pod) != [statefulset]:
            return False
    return True


def pod_trouble(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> str:
    """Which of a StatefulSet's pods are not Running under it, and why: for error messages."""
    problems = []
    for ordinal in range(replicas):
        name = pod_name(statefulset, ordinal)
        pod = client.find(pod_path(namespace, name))
        if pod is None:
            problems.append(f"pod {name} does not exist")
        elif not pods.is_running(pod):
            problems.append(f"pod {name} is {pods.status_text(pod)}")
        elif (owners := pods.controller_names(pod)) != [statefulset]:
            problems.append(f"pod {name} is not adopted by {statefulset} (owners: {owners or 'none'})")
    return "; ".join(problems)


def pods_gone(client: KubeClient, namespace: str, statefulset: str, replicas: int) -> bool:
    return all(client.find(pod_path(namespace, pod_name(statefulset, o))) is None for o in range(replicas))


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
        claim = client.find(claim_path(namespace, name))
        phase = (claim or {}).get("status", {}).get("phase") or "absent"
        if phase == "Bound":
            continue
        # A driver's warning says why; the controller's "waiting for the provisioner" does not.
        events = sorted(events_for(client, namespace, name), key=lambda e: e.get("type") == "Warning")
        last = events[-1].get("message") if events else None
        problems.append(f"claim {name} is {phase}" + (f" ({last})" if last else ""))
    return "; ".join(problems)
