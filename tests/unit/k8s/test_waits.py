"""Waiting for one object: a watch answers at the change, not a poll interval later; without
a watch the wait still ends by polling; the deadline and a hopeless state end it."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.waits import delete_and_wait, wait_for, wait_until
from salvage.model.errors import KubernetesError, NotReadyError
from tests.support.fake_kube import FakeApi

CLAIM = "/api/v1/namespaces/ns/persistentvolumeclaims/data"


def _claim(phase: str, version: str = "1") -> dict:
    return {"metadata": {"name": "data", "resourceVersion": version}, "status": {"phase": phase}}


def _bound(obj: dict | None) -> bool:
    return bool(obj) and obj["status"]["phase"] == "Bound"


class WatchingApi:
    """GET answers Pending; the collection's watch (narrowed to the name) sends Bound."""

    def __init__(self) -> None:
        self.watches: list[dict] = []
        self.gets = 0

    def client(self) -> KubeClient:
        return KubeClient(Connection(server="https://kube.test", insecure=True),
                          transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        if params.get("watch") == "1":
            self.watches.append(params)
            lines = [{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "2"}}},
                     {"type": "MODIFIED", "object": _claim("Bound", "3")}]
            return httpx.Response(200, content="".join(json.dumps(e) + "\n" for e in lines).encode())
        self.gets += 1
        return httpx.Response(200, json=_claim("Pending"))


def test_a_watched_change_ends_the_wait_without_another_read() -> None:
    api = WatchingApi()
    obj = wait_for(api.client(), CLAIM, _bound, time.monotonic() + 10, "claim data", interval=30)
    assert obj and obj["metadata"]["resourceVersion"] == "3"
    assert api.gets == 1  # the watch, not a second read (the interval is 30 s)
    assert api.watches[0]["fieldSelector"] == "metadata.name=data"
    assert api.watches[0]["resourceVersion"] == "1"
    assert api.watches[0]["watch"] == "1"


def test_without_a_watch_the_wait_polls_until_the_state_is_reached() -> None:
    api = FakeApi({CLAIM: _claim("Pending")})  # its "watch" answers a List: no events
    client = api.client()
    reads = []

    def later(request: httpx.Request) -> None:
        reads.append(request)
        if len(reads) == 4:
            api.objects[CLAIM] = _claim("Bound")
    client.http.event_hooks["request"].append(later)
    assert wait_for(client, CLAIM, _bound, time.monotonic() + 10, "claim data", interval=0.01)["status"]["phase"] \
        == "Bound"


def test_the_deadline_ends_the_wait_naming_what_was_waited_for() -> None:
    api = FakeApi({CLAIM: _claim("Pending")})
    started = time.monotonic()
    with pytest.raises(NotReadyError, match="Timed out waiting for claim data to be Bound."):
        wait_for(api.client(), CLAIM, _bound, time.monotonic() + 0.3, "claim data to be Bound", interval=0.05)
    assert time.monotonic() - started < 3


def test_a_state_that_can_never_be_reached_ends_the_wait_at_once() -> None:
    def hopeless(obj: dict | None) -> bool:
        raise NotReadyError("cannot start")
    with pytest.raises(NotReadyError, match="cannot start"):
        wait_for(FakeApi({CLAIM: _claim("Pending")}).client(), CLAIM, hopeless, time.monotonic() + 60, "x")


def test_delete_and_wait_deletes_and_returns_once_gone_and_tolerates_absence() -> None:
    api = FakeApi({CLAIM: _claim("Bound")})
    delete_and_wait(api.client(), CLAIM, time.monotonic() + 5, "claim data")
    assert CLAIM not in api.objects and ("DELETE", CLAIM) in api.requests
    delete_and_wait(api.client(), CLAIM, time.monotonic() + 5, "claim data")  # already gone: fine


def test_a_refusal_is_raised_not_waited_out() -> None:
    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "forbidden"})
    client = KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(forbidden))
    with pytest.raises(KubernetesError, match="forbidden"):
        wait_for(client, CLAIM, _bound, time.monotonic() + 60, "x")


def test_wait_until_polls_a_compound_condition_and_times_out_with_its_name() -> None:
    calls = []
    wait_until(lambda: calls.append(1) or len(calls) > 2, time.monotonic() + 5, "x", interval=0.01)
    assert len(calls) == 3
    with pytest.raises(NotReadyError, match="Timed out waiting for pods to be gone."):
        wait_until(lambda: False, time.monotonic() + 0.05, "pods to be gone", interval=0.01)
