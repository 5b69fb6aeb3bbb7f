"""One reading of why a pod is not ready, for every waiter's error message."""

from __future__ import annotations

import pytest

from salvage.k8s.pods import is_ready, refuse_never_starts, status_text, waiting
from salvage.model.errors import NotReadyError


def _pod(phase: str, *, waiting_reason: str | None = None, ready: bool = False, conditions: list | None = None,
         deleting: bool = False) -> dict:
    state = {"waiting": {"reason": waiting_reason, "message": "why"}} if waiting_reason else {"running": {}}
    meta = {"name": "web-0", **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": [
        {"name": "app", "image": "salvage.local/busybox:1.35", "ready": ready, "state": state}]}}


@pytest.mark.parametrize(("pod", "text"), [
    (_pod("Pending", waiting_reason="ErrImageNeverPull"), "Pending (ErrImageNeverPull: why)"),
    (_pod("Pending", waiting_reason="ContainerCreating"), "Pending"),
    (_pod("Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": "0/3 nodes are available"}]),
     "Pending (Unschedulable: 0/3 nodes are available)"),
    (_pod("Running", waiting_reason="CrashLoopBackOff"), "Running, not ready (CrashLoopBackOff: why)"),
    (_pod("Running"), "Running, not ready"),
    (_pod("Running", ready=True, deleting=True), "being deleted"),
])
def test_status_text_says_the_phase_and_kubernetes_reason(pod: dict, text: str) -> None:
    assert status_text(pod) == text


def test_ready_needs_running_every_container_ready_and_no_deletion() -> None:
    assert is_ready(_pod("Running", ready=True))
    assert not is_ready(_pod("Running"))
    assert not is_ready(_pod("Running", ready=True, deleting=True))
    assert not is_ready(_pod("Pending", ready=True))


def test_container_creating_is_progress_not_a_reason() -> None:
    assert waiting(_pod("Pending", waiting_reason="ContainerCreating")) == []


def test_only_a_pod_that_can_never_start_is_refused() -> None:
    refuse_never_starts(_pod("Pending", waiting_reason="ImagePullBackOff"), "ns")  # may clear by itself
    with pytest.raises(NotReadyError, match="Pod web-0 in namespace ns cannot start: ErrImageNeverPull: why"):
        refuse_never_starts(_pod("Pending", waiting_reason="ErrImageNeverPull"), "ns")
