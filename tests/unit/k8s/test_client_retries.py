"""The client tries a failed request again only where that is safe, with growing waits, says
so each time, and gives up after a bounded number of tries with an error that says so."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.retry import NO_RETRY, RetryPolicy
from salvage.model.errors import KubernetesError

Outcome = Callable[[httpx.Request], httpx.Response]


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def answer(status: int, headers: dict[str, str] | None = None) -> Outcome:
    return lambda _r: httpx.Response(status, json={"kind": "Status", "message": f"answered {status}"},
                                     headers=headers)


class Scripted:
    """A client whose requests meet ``outcomes`` in turn (the last one repeats)."""

    def __init__(self, *outcomes: Outcome, attempts: int = 6, give_up_after: float = 60.0) -> None:
        self.calls: list[str] = []
        self.sleeps: list[float] = []
        self.said: list[str] = []
        self.now = 0.0

        def handler(request: httpx.Request) -> httpx.Response:
            self.calls.append(request.method)
            return outcomes[min(len(self.calls), len(outcomes)) - 1](request)

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.now += seconds

        policy = RetryPolicy(attempts=attempts, give_up_after=give_up_after, sleep=sleep, clock=lambda: self.now)
        self.client = KubeClient(Connection(server="https://k8s.invalid", insecure=True),
                                 transport=httpx.MockTransport(handler), retry=policy, on_retry=self.said.append)


def test_a_read_cut_off_twice_succeeds_on_the_third_try_and_says_so() -> None:
    s = Scripted(reset, reset, answer(200))
    assert s.client.get("/api/v1/namespaces/a")["message"] == "answered 200"
    assert s.calls == ["GET"] * 3
    assert len(s.sleeps) == 2 and 0.125 <= s.sleeps[0] <= 0.25 and 0.25 <= s.sleeps[1] <= 0.5
    assert s.said[0].startswith("GET /api/v1/namespaces/a failed (Server disconnected")
    assert "trying again in" in s.said[0] and "(try 2 of 6)" in s.said[0]


def test_a_read_gives_up_after_the_last_try_and_says_how_many() -> None:
    s = Scripted(reset, attempts=4)
    with pytest.raises(KubernetesError, match=r"after 4 tries over \d+s: Server disconnected"):
        s.client.get("/api/v1/pods")
    assert len(s.calls) == 4 and len(s.sleeps) == 3


def test_no_new_try_once_the_time_is_up() -> None:
    s = Scripted(reset, attempts=100, give_up_after=5.0)
    with pytest.raises(KubernetesError, match="tries over"):
        s.client.get("/api/v1/pods")
    assert sum(s.sleeps[:-1]) < 5.0 <= sum(s.sleeps) and len(s.calls) == len(s.sleeps) + 1


def test_a_write_whose_answer_was_lost_is_not_sent_again() -> None:
    s = Scripted(reset, answer(201))
    with pytest.raises(KubernetesError, match="Cannot reach the Kubernetes API at https://k8s.invalid: Server"):
        s.client.create("/api/v1/namespaces", {})
    assert s.calls == ["POST"] and s.sleeps == []


def test_a_write_that_could_not_connect_is_sent_again() -> None:
    s = Scripted(refused, answer(201))
    assert s.client.create_if_absent("/api/v1/namespaces", {}) is True
    assert s.calls == ["POST", "POST"]


def test_server_errors_are_retried_for_reads_only_and_429_for_all_with_retry_after() -> None:
    read = Scripted(answer(503), answer(200))
    assert read.client.get("/api/v1/pods")
    assert len(read.calls) == 2
    write = Scripted(answer(503))
    with pytest.raises(KubernetesError, match="answered 503") as raised:
        write.client.create("/api/v1/namespaces", {})
    assert raised.value.status == 503 and write.calls == ["POST"]
    busy = Scripted(answer(429, {"Retry-After": "2"}), answer(201))
    busy.client.create("/api/v1/namespaces", {})
    assert busy.sleeps == [2.0]


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_answers_that_will_not_change_are_not_retried(status: int) -> None:
    s = Scripted(answer(status))
    with pytest.raises(KubernetesError):
        s.client.get("/api/v1/pods")
    assert len(s.calls) == 1


def test_no_retry_policy_makes_one_try() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("reset", request=request)

    client = KubeClient(Connection(server="https://k8s.invalid", insecure=True),
                        transport=httpx.MockTransport(handler), retry=NO_RETRY)
    with pytest.raises(KubernetesError, match="Cannot reach"):
        client.get("/api/v1/pods")
    assert calls == ["GET"]
