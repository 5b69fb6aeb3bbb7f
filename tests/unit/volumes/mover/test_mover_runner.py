"""The runner against a scripted API server: the result comes back, failures are raised
with the pod's name and Kubernetes' reason, and the pod and its Secret are always removed."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import httpx
import pytest

from salvage.locations.config import LocationSpec
from salvage.model.mover import MoverSettings
from salvage.volumes.mover import MoverError, MoverJob, MoverRunner, cancel_all, runner, sweep
from salvage.model.progress import VolumeBytes, VolumeMoved, VolumeState
from tests.support.fake_kube import FakeApi
from tests.support.waiting import wait_for

JOB = MoverJob("backup", "shop", "data-db-0", ("fs", "backup", "/data"))
LOCATION = LocationSpec(name="default", provider="filesystem", bucket="/srv/backups")
RESULT = {"snapshot": "ab12", "total_bytes": 10}


class ScriptedApi(FakeApi):
    """Pods go through ``statuses`` (one per read, the last one stays); PATCH merges
    metadata; a pod's log is ``log``; label selectors work on cluster-wide lists."""

    def __init__(self, statuses: list[dict[str, Any] | None], log: str = "") -> None:
        super().__init__()
        self.statuses, self.log = list(statuses), log
        self.patched: list[dict[str, Any]] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PATCH":
            self.patched.append(json.loads(request.content))
            self.objects[path]["metadata"].update(json.loads(request.content)["metadata"])
            return httpx.Response(200, json=self.objects[path])
        if path.endswith("/log"):
            return httpx.Response(200, text=self.log)
        if request.method == "GET" and path in ("/api/v1/pods", "/api/v1/secrets"):
            wanted = dict(p.split("=") for p in request.url.params["labelSelector"].split(","))
            items = [o for p, o in self.objects.items() if f"/{path.rsplit('/', 1)[1]}/" in p
                     and wanted.items() <= (o["metadata"].get("labels") or {}).items()]
            return httpx.Response(200, json={"items": items, "metadata": {}})
        if request.method == "POST" and path.endswith("/pods"):
            body = json.loads(request.content)
            body["metadata"]["uid"] = "u1"
            self.objects[f"{path}/{body['metadata']['name']}"] = body
            return httpx.Response(201, json=body)
        response = super()._handle(request)
        if request.method == "GET" and "/pods/" in path and path in self.objects:
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            if status is None:  # deleted behind our back
                del self.objects[path]
                return httpx.Response(404, json={"message": "gone"})
            return httpx.Response(200, json={**self.objects[path], "status": status})
        return response


def running() -> dict[str, Any]:
    return {"phase": "Running", "containerStatuses": [{"state": {"running": {}}}]}


def terminated(code: int, message: str, reason: str = "Completed") -> dict[str, Any]:
    return {"phase": "Succeeded" if code == 0 else "Failed",
            "containerStatuses": [{"state": {"terminated": {"exitCode": code, "message": message, "reason": reason}}}]}


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_POLL", 0.01)
    monkeypatch.setattr(runner, "_PROGRESS_EVERY", 0.0)


def run(api: ScriptedApi, settings: MoverSettings | None = None, events: list[Any] | None = None) -> dict[str, Any]:
    seen = events if events is not None else []
    mover = MoverRunner(api.client(), settings or MoverSettings(), LOCATION, "pw",
                        seen.append, run_id="r1")
    return mover.run(JOB)


def test_the_result_comes_back_and_nothing_is_left() -> None:
    api = ScriptedApi([{"phase": "Pending"}, running(), running(), terminated(0, json.dumps(RESULT))],
                      log='{"event": "progress", "files": 3, "bytes": 7}\n')
    events: list[Any] = []
    assert run(api, events=events) == RESULT
    assert not [p for p in api.objects if "/pods/" in p or "/secrets/" in p], "pod and Secret removed"
    assert api.patched[0]["metadata"]["ownerReferences"][0]["uid"] == "u1", "the Secret goes with its pod"
    pod = runner.manifests.object_name("r1", JOB)
    assert VolumeBytes("shop/data-db-0", "backup", pod, files=3, files_total=None, bytes=7, bytes_total=None,
                       bytes_per_second=0) in events, "the pod's progress line, as a typed event"
    assert [e for e in events if isinstance(e, VolumeMoved) and e.pod == pod], "and its end"


def test_an_image_never_pulled_fails_at_once_naming_the_pod() -> None:
    api = ScriptedApi([{"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present with pull policy"}}}]}])
    with pytest.raises(MoverError) as caught:
        run(api)
    assert "shop/salvage-backup-r1-" in caught.value.message and "ErrImageNeverPull" in caught.value.message
    assert "--mover-image" in (caught.value.hint or "")
    assert not [p for p in api.objects if "/pods/" in p or "/secrets/" in p]


def test_a_pod_deleted_while_copying_fails_the_copy() -> None:
    api = ScriptedApi([running(), None])
    with pytest.raises(MoverError, match="deleted before it finished"):
        run(api)
    assert not [p for p in api.objects if "/secrets/" in p]


def test_a_crash_reports_the_movers_last_words() -> None:
    api = ScriptedApi([terminated(2, "error: The repository password is wrong.", "Error")])
    with pytest.raises(MoverError, match="password is wrong"):
        run(api)


def test_unschedulable_fails_after_the_grace_not_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "GRACE", 0.05)
    api = ScriptedApi([{"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes match"}]}])
    with pytest.raises(MoverError, match="cannot start: Unschedulable: 0/1 nodes match"):
        run(api, MoverSettings(start_timeout=60))


def test_a_pod_that_never_starts_times_out_with_its_last_state() -> None:
    api = ScriptedApi([{"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}])
    with pytest.raises(MoverError, match="did not start within 0s"):
        run(api, MoverSettings(start_timeout=0.05))


def test_a_cancelled_run_stops_and_cleans_up() -> None:
    api = ScriptedApi([running()])
    mover = MoverRunner(api.client(), MoverSettings(), LOCATION, "pw", run_id="r1")
    mover.cancel()
    with pytest.raises(MoverError, match="interrupted"):
        mover.run(JOB)
    assert not [p for p in api.objects if "/pods/" in p or "/secrets/" in p]


def test_a_sweep_removes_what_killed_runs_left_once_expired() -> None:
    api = ScriptedApi([running()])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for name, expires in (("old", "2025-12-31T23:00:00Z"), ("live", "2026-01-01T01:00:00Z")):
        meta = {"name": name, "namespace": "shop", "labels": {"salvage.io/temporary": "true", "salvage.io/run": name},
                "annotations": {"salvage.io/expires": expires}}
        api.objects[f"/api/v1/namespaces/shop/pods/{name}"] = {"metadata": meta}
        api.objects[f"/api/v1/namespaces/shop/secrets/{name}"] = {"metadata": meta}
    assert sorted(sweep(api.client(), now=now)) == ["pods shop/old", "secrets shop/old"]
    assert sorted(sweep(api.client(), run_id="live", now=now)) == ["pods shop/live", "secrets shop/live"]


def test_ctrl_c_stops_every_mover_of_the_process_even_after_another_finished() -> None:
    api = ScriptedApi([running()])
    mover = MoverRunner(api.client(), MoverSettings(), LOCATION, "pw", run_id="r2")
    outcome: list[BaseException] = []

    def copy() -> None:
        try:
            mover.run(JOB)
        except MoverError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=copy)
    thread.start()
    wait_for(lambda: any("/pods/" in p for p in api.objects), timeout=5)
    cancel_all()
    thread.join(timeout=5)
    assert [str(e.message) for e in outcome] == [f"Mover pod shop/{runner.manifests.object_name('r2', JOB)} "
                                                 "(backup of claim shop/data-db-0) was stopped (interrupted)."]
    assert not [p for p in api.objects if "/pods/" in p or "/secrets/" in p]


def _other_mover(api: ScriptedApi, name: str, node: str, *, scheduled: bool) -> str:
    """A live mover pod of another run (another namespace), on ``node`` or made for it."""
    path = f"/api/v1/namespaces/other/pods/{name}"
    api.objects[path] = {"metadata": {
        "name": name, "namespace": "other", "labels": {"salvage.io/temporary": "true", "salvage.io/mover": "backup"},
        "annotations": {"salvage.io/expires": "2099-01-01T00:00:00Z",  # not for the sweep
                        **({} if scheduled else {"salvage.io/node": node})}},
        "spec": {"nodeName": node} if scheduled else {}}
    return path


def test_the_per_node_cap_waits_for_another_runs_mover_to_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_SLOT_POLL", 0.01)
    api = ScriptedApi([terminated(0, json.dumps(RESULT))])
    first = _other_mover(api, "scheduled", "n1", scheduled=True)
    second = _other_mover(api, "made-for", "n1", scheduled=False)
    _other_mover(api, "elsewhere", "n2", scheduled=True)
    events: list[Any] = []
    mover = MoverRunner(api.client(), MoverSettings(per_node=2), LOCATION, "pw",
                        events.append, run_id="r3")
    done: list[Any] = []
    job = MoverJob("backup", "shop", "data-db-0", ("fs", "backup", "/data"), node="n1")
    thread = threading.Thread(target=lambda: done.append(mover.run(job)))
    thread.start()
    wait_for(lambda: events, timeout=5, what="the wait reported")
    assert events[0] == VolumeState("shop/data-db-0", "waiting for a data-mover slot on node n1 (2 of 2 in use)")
    assert not [p for p in api.objects if p.startswith("/api/v1/namespaces/shop/pods/")], "no pod made yet"
    del api.objects[first]  # one of them finished: a slot is free
    thread.join(timeout=5)
    assert done == [RESULT]
    assert second in api.objects


def test_no_free_slot_within_the_timeout_names_the_node_and_who_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_SLOT_POLL", 0.01)
    api = ScriptedApi([running()])
    _other_mover(api, "busy", "n1", scheduled=True)
    mover = MoverRunner(api.client(), MoverSettings(per_node=1, run_timeout=0.05), LOCATION, "pw", run_id="r4")
    with pytest.raises(MoverError) as caught:
        mover.run(MoverJob("backup", "shop", "data-db-0", ("fs", "backup", "/data"), volume_node="n1"))
    assert "no free data-mover slot on node n1" in caught.value.message
    assert "--mover-per-node 1): other/busy held it" in caught.value.message
    assert not [p for p in api.objects if p.startswith("/api/v1/namespaces/shop/")], "nothing was made"


def test_without_a_cap_or_a_known_node_nothing_is_counted() -> None:
    api = ScriptedApi([terminated(0, json.dumps(RESULT))])
    _other_mover(api, "busy", "n1", scheduled=True)
    assert run(api, MoverSettings(per_node=1)) == RESULT  # JOB's node is not known before it is made


def test_a_sweep_removes_a_killed_runs_pod_once_its_heartbeat_is_a_minute_old() -> None:
    api = ScriptedApi([running()])
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    for name, beat in (("killed", "2026-01-01T11:58:59Z"), ("watched", "2026-01-01T11:59:30Z")):
        meta = {"name": name, "namespace": "shop", "labels": {"salvage.io/temporary": "true", "salvage.io/run": name},
                "annotations": {"salvage.io/expires": "2026-01-01T13:00:00Z", "salvage.io/heartbeat": beat}}
        api.objects[f"/api/v1/namespaces/shop/pods/{name}"] = {"metadata": meta}
        # Its Secret has the first beat too, never renewed: it goes with its pod, not by the beat.
        api.objects[f"/api/v1/namespaces/shop/secrets/{name}"] = {"metadata": meta}
    assert sweep(api.client(), now=now) == ["pods shop/killed"]


def test_the_run_renews_its_pods_heartbeat_while_it_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.manifests, "HEARTBEAT_EVERY", 0.0)
    api = ScriptedApi([running(), running(), terminated(0, json.dumps(RESULT))])
    assert run(api) == RESULT
    beats = [p for p in api.patched if "salvage.io/heartbeat" in p["metadata"].get("annotations", {})]
    assert len(beats) >= 2


def test_a_run_hands_the_pods_it_swept_to_its_caller() -> None:
    """(The fs method then removes their repository locks.)"""
    api = ScriptedApi([terminated(0, json.dumps(RESULT))])
    meta = {"name": "orphan", "namespace": "shop", "labels": {"salvage.io/temporary": "true", "salvage.io/run": "x"},
            "annotations": {"salvage.io/expires": "2099-01-01T00:00:00Z", "salvage.io/heartbeat": "2020-01-01T00:00:00Z"}}
    api.objects["/api/v1/namespaces/shop/pods/orphan"] = {"metadata": meta}
    swept: list[list[str]] = []
    mover = MoverRunner(api.client(), MoverSettings(), LOCATION, "pw", run_id="r5", on_swept=swept.append)
    assert mover.run(JOB) == RESULT
    assert swept == [["orphan"]]
