"""A mover pod's status read into a verdict, in Kubernetes' words, with what to do."""

from __future__ import annotations

from typing import Any

from salvage.volumes.mover.diagnosis import diagnose


def pod(phase: str = "Pending", *, state: dict[str, Any] | None = None,
        conditions: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    containers = [{"name": "mover", "state": state}] if state else []
    return {"status": {"phase": phase, "containerStatuses": containers, "conditions": conditions or [], **status}}


def test_a_pod_not_yet_scheduled_nor_blocked_is_pending() -> None:
    assert diagnose(pod(), []).state == "pending"
    assert diagnose(pod(state={"waiting": {"reason": "ContainerCreating"}}), []).reason == ""


def test_unschedulable_is_a_failure_once_it_lasts() -> None:
    verdict = diagnose(pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": "0/2 nodes are available: 2 node(s) didn't match selector."}]), [])
    assert verdict.state == "pending" and verdict.lingering
    assert verdict.reason == "Unschedulable" and "didn't match" in verdict.message
    assert "--mover-node-selector" in verdict.hint


def test_an_image_that_may_not_be_pulled_fails_at_once() -> None:
    verdict = diagnose(pod(state={"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}}), [])
    assert (verdict.state, verdict.reason, verdict.message) == ("failed", "ErrImageNeverPull", "image not present")
    assert "--mover-image" in verdict.hint


def test_an_out_of_memory_kill_says_to_raise_the_limit() -> None:
    verdict = diagnose(pod("Failed", state={"terminated": {"reason": "OOMKilled", "exitCode": 137}}), [])
    assert verdict.state == "failed" and verdict.reason == "OOMKilled" and "--mover-memory" in verdict.hint


def test_an_error_exit_carries_the_last_output_and_success_the_result() -> None:
    failed = diagnose(pod("Failed", state={"terminated": {"reason": "Error", "exitCode": 2,
                                                          "message": "error: wrong password"}}), [])
    assert failed.state == "failed" and failed.message == "error: wrong password" and failed.exit_code == 2
    done = diagnose(pod("Succeeded", state={"terminated": {"exitCode": 0, "message": '{"snapshot": "ab"}'}}), [])
    assert done.state == "succeeded" and done.result == '{"snapshot": "ab"}'


def test_a_mount_that_keeps_failing_is_named_from_the_events() -> None:
    events = [{"type": "Normal", "reason": "Scheduled"},
              {"type": "Warning", "reason": "FailedMount", "message": 'secret "x" not found'}]
    verdict = diagnose(pod(state={"waiting": {"reason": "ContainerCreating"}}), events)
    assert verdict.lingering and verdict.reason == "FailedMount" and "not found" in verdict.message


def test_a_pod_failed_without_a_container_result_says_why() -> None:
    verdict = diagnose(pod("Failed", reason="DeadlineExceeded", message="Pod was active too long"), [])
    assert (verdict.state, verdict.reason) == ("failed", "DeadlineExceeded")
