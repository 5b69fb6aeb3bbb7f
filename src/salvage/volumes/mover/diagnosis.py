"""A mover pod's status and events, read into a verdict: still going, done, or failed and
why, in Kubernetes' own words, with what to do (no I/O here). What a pod's status says is
read by k8s/pods.py, as for every other waiter; this module adds the mover's own verdicts
(its exit code and result, the grace for conditions that may clear, the hints).

Some conditions are final the moment Kubernetes reports them (an image that may never be
pulled, a crash, an out-of-memory kill); others may clear by themselves (a scheduler that
waits for a volume to bind, a mount retried), so they fail only once they have lasted
:data:`GRACE` seconds: long enough for the transient ones, far shorter than any timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salvage.k8s.pods import FINAL_WAITING, container_statuses, unscheduled

JSON = dict[str, Any]

GRACE = 8.0
# A mount is retried by kubelet (its Secret cache synced, a volume detached elsewhere): on
# a busy node that takes longer, so a mount failure must last this long to be final.
MOUNT_GRACE = 60.0
MOUNT_REASONS = ("FailedMount", "FailedAttachVolume")

_IMAGE_HINT = ("Make the image available to the node (push it to a registry the cluster can pull from), "
               "or name another with --mover-image.")
# Events about the pod that mean it cannot start, if they last.
_BLOCKING_EVENTS = ("FailedMount", "FailedAttachVolume", "FailedScheduling", "FailedCreatePodSandBox")


@dataclass(frozen=True)
class Verdict:
    state: str  # pending | running | succeeded | failed
    reason: str = ""  # Kubernetes' reason (Unschedulable, OOMKilled, ...)
    message: str = ""
    hint: str = ""
    lingering: bool = False  # a failure only once it has lasted GRACE seconds
    exit_code: int | None = None
    result: str = ""  # the container's termination message (the mover's result JSON)


def diagnose(pod: JSON, events: list[JSON]) -> Verdict:
    status = pod.get("status") or {}
    phase = status.get("phase")
    container = next(iter(container_statuses(pod)), {})
    terminated = (container.get("state") or {}).get("terminated")
    if terminated:
        return _terminated(terminated)
    if phase == "Failed":  # no container ran to the end: evicted, past its deadline, ...
        return Verdict("failed", status.get("reason") or "Failed", status.get("message") or "the pod failed",
                       "See `kubectl describe pod` for its events; then run the command again.")
    waiting = (container.get("state") or {}).get("waiting") or {}
    if waiting.get("reason") in FINAL_WAITING:
        reason = waiting["reason"]
        hint = _IMAGE_HINT if "Image" in reason else "See the pod's events (`kubectl describe pod`)."
        return Verdict("failed", reason, waiting.get("message") or FINAL_WAITING[reason], hint)
    if "running" in (container.get("state") or {}):
        return Verdict("running")
    condition = unscheduled(pod)
    if condition:
        return Verdict("pending", condition.get("reason") or "Unschedulable",
                       condition.get("message") or "no node can run it",
                       "No node can run the mover: check --mover-node-selector, the taints and free resources "
                       "of the claim's node, and that the claim's volume can be attached there.", lingering=True)
    warning = next((e for e in reversed(events)
                    if e.get("type") == "Warning" and e.get("reason") in _BLOCKING_EVENTS), None)
    if warning:
        return Verdict("pending", warning["reason"], warning.get("message") or "", _event_hint(warning["reason"]),
                       lingering=True)
    return Verdict("pending")


def _terminated(terminated: JSON) -> Verdict:
    code = terminated.get("exitCode")
    message = (terminated.get("message") or "").strip()
    if code == 0:
        return Verdict("succeeded", exit_code=0, result=message)
    reason = terminated.get("reason") or "Error"
    if reason == "OOMKilled":
        return Verdict("failed", reason, "the mover ran out of memory and was killed",
                       "Raise the mover's memory limit (--mover-memory), or back up fewer volumes at once "
                       "(--parallel-volumes).", exit_code=code)
    return Verdict("failed", reason, message or f"the mover exited with code {code}",
                   "The mover's last output is above; fix its cause and run the command again.",
                   exit_code=code, result=message)


def _event_hint(reason: str) -> str:
    if reason in ("FailedMount", "FailedAttachVolume"):
        return ("The claim's volume (or the mover's Secret) could not be mounted: an RWO volume in use on another "
                "node, a missing Secret, or a CSI driver problem; see `kubectl describe pod`.")
    if reason == "FailedCreatePodSandBox":
        return "The node could not start the pod's sandbox (network or runtime); see the node's kubelet log."
    return "See `kubectl describe pod`."
