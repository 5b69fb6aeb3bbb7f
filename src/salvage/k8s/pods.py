"""Why a pod is not ready, read once for every waiter: recover, clone and rotate
(engines/statefulset/), restore drills (engines/drill.py) and the data mover's diagnosis
(volumes/mover/diagnosis.py). No I/O: each function reads a pod's raw JSON.

A pod tells it in three places: its phase, its containers' states (waiting with a reason
such as ``ErrImageNeverPull``, terminated with a reason such as ``OOMKilled``), and its
``PodScheduled`` condition (``Unschedulable`` and the scheduler's message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salvage.model.errors import NotReadyError

JSON = dict[str, Any]

# Waiting reasons that no retry by the kubelet cures, and what each means.
FINAL_WAITING = {
    "ErrImageNeverPull": "the image is not on the node and the pull policy forbids pulling it",
    "ImagePullBackOff": "the image could not be pulled",
    "InvalidImageName": "the image name is not valid",
    "CreateContainerConfigError": "the container's configuration refers to something missing",
    "CreateContainerError": "the container could not be created",
    "RunContainerError": "the container could not be started",
    "CrashLoopBackOff": "the container keeps crashing",
}
# Of those, the ones that can never clear while the pod exists (nothing outside the pod's
# own spec can fix them), so a wait for a workload's pods ends at once on them. The others
# may clear when something else changes (a registry comes back, a Secret is created).
NEVER_STARTS = ("ErrImageNeverPull", "InvalidImageName")


@dataclass(frozen=True)
class Waiting:
    """A container that waits with a reason (``ContainerCreating`` is not one: that is progress)."""
    container: str
    image: str
    reason: str
    message: str


def container_statuses(pod: JSON) -> list[JSON]:
    return list((pod.get("status") or {}).get("containerStatuses") or [])


def waiting(pod: JSON) -> list[Waiting]:
    """Each container that waits with a reason, in the pod's order."""
    found = []
    for status in container_statuses(pod):
        state = (status.get("state") or {}).get("waiting") or {}
        if state.get("reason") and state["reason"] != "ContainerCreating":
            found.append(Waiting(status.get("name") or "?", status.get("image") or "?", state["reason"],
                                 state.get("message") or ""))
    return found


def unscheduled(pod: JSON) -> JSON | None:
    """The ``PodScheduled=False`` condition (reason Unschedulable, the scheduler's message), if any."""
    return next((c for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "PodScheduled" and c.get("status") == "False"), None)


def is_running(pod: JSON) -> bool:
    """Running and not being deleted."""
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


def is_ready(pod: JSON) -> bool:
    """Running, not being deleted, and every container ready."""
    return is_running(pod) and all(c.get("ready") for c in container_statuses(pod))


def controller_names(pod: JSON) -> list[str]:
    """The names of the pod's controlling owners (one at most, in a healthy cluster)."""
    return [o.get("name") for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]


def status_text(pod: JSON) -> str:
    """The pod's state in a few words, with Kubernetes' reason when it gives one, for error
    messages: ``Pending (ErrImageNeverPull: ...)``, ``Pending (Unschedulable: 0/3 nodes ...)``,
    ``Running, not ready (CrashLoopBackOff: ...)``, ``being deleted``."""
    if pod["metadata"].get("deletionTimestamp"):
        return "being deleted"
    phase = (pod.get("status") or {}).get("phase") or "Unknown"
    first = next(iter(waiting(pod)), None)
    if first:
        why = f" ({first.reason}: {first.message or 'no message'})"
    elif (condition := unscheduled(pod)) is not None:
        why = f" ({condition.get('reason') or 'Unschedulable'}: {condition.get('message') or 'no message'})"
    else:
        why = ""
    if phase == "Running" and not is_ready(pod):
        return f"Running, not ready{why}"
    return f"{phase}{why}"


def refuse_never_starts(pod: JSON, namespace: str) -> None:
    """Raise ``NotReadyError`` naming the pod, the reason and the next step when one of its
    containers waits for something that can never come (:data:`NEVER_STARTS`)."""
    stuck = next((w for w in waiting(pod) if w.reason in NEVER_STARTS), None)
    if stuck is None:
        return
    name = pod["metadata"]["name"]
    local = stuck.image.split("/", 1)[1].split(":")[0] if stuck.image.startswith("salvage.local/") else None
    raise NotReadyError(
        f"Pod {name} in namespace {namespace} cannot start: {stuck.reason}: {stuck.message or stuck.image}.",
        hint=(f"Image {stuck.image} is not on the node: build and import it with "
              f"`salvage dev images build {local}`." if local else
              f"Check the image name, or load {stuck.image} on the node; `kubectl describe pod -n {namespace} "
              f"{name}` shows the details."))
