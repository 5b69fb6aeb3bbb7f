"""Waiting for a StatefulSet's pods ends at once, with the reason and the next step, when a
pod cannot start by itself (its image is not on the node), instead of timing out."""

from __future__ import annotations

import pytest

from salvage.engines.statefulset.workload_state import pods_running
from salvage.model.errors import NotReadyError
from tests.support.fake_kube import FakeApi


def _pod(reason: str, image: str) -> dict:
    return {"metadata": {"name": "web-0", "ownerReferences": [{"name": "web", "controller": True}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "app", "image": image, "state": {"waiting": {"reason": reason, "message": "why"}}}]}}


def test_an_image_that_is_not_on_the_node_ends_the_wait_with_the_command_that_builds_it() -> None:
    api = FakeApi({"/api/v1/namespaces/ns/pods/web-0": _pod("ErrImageNeverPull", "salvage.local/busybox:1.35")})
    with pytest.raises(NotReadyError) as error:
        pods_running(api.client(), "ns", "web", 1)
    assert "Pod web-0 in namespace ns cannot start: ErrImageNeverPull" in error.value.message
    assert "`salvage dev images build busybox`" in (error.value.hint or "")


def test_a_foreign_image_gets_kubectl_describe_as_the_next_step() -> None:
    api = FakeApi({"/api/v1/namespaces/ns/pods/web-0": _pod("InvalidImageName", "Bad:Name")})
    with pytest.raises(NotReadyError) as error:
        pods_running(api.client(), "ns", "web", 1)
    assert "kubectl describe pod -n ns web-0" in (error.value.hint or "")


def test_a_pod_still_being_created_is_waited_for() -> None:
    api = FakeApi({"/api/v1/namespaces/ns/pods/web-0": _pod("ContainerCreating", "salvage.local/busybox:1.35")})
    assert pods_running(api.client(), "ns", "web", 1) is False
