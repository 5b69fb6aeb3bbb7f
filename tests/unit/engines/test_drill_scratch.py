"""Scratch namespaces of drills: only labelled ones are a drill's; one is abandoned when its
heartbeat is stale or its runner, a process of this machine, is gone, never when kept; the
heartbeat is renewed while a drill runs; removing them removes the volumes they bound; and
a drill first removes what an earlier, killed drill of the same backup and owner left,
saying what it leaves and the command that removes it."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

from salvage.engines import drill_scratch
from salvage.engines.drill import DrillRequest, _remove_abandoned
from salvage.engines.drill_scratch import Heartbeat, Scratch, list_scratch, marks, remove_scratch
from salvage.model.progress import Event, Logged
from tests.support.fake_kube import FakeApi
from tests.support.waiting import wait_for

NOW = dt.datetime(2026, 12, 2, 17, 0, 0, tzinfo=dt.timezone.utc)
HOST = socket.gethostname()


def _namespace(name: str, *, backup: str = "b", owner: str = "", runner: str = "elsewhere:1",
               beat: dt.datetime = NOW, kept: bool = False, labelled: bool = True) -> dict:  # type: ignore[type-arg]
    labels, annotations = marks(f"{backup}-drill-x", backup, owner, runner, beat)
    if kept:
        annotations[drill_scratch.ANNOTATION_KEPT] = "true"
    meta = {"name": name, "labels": labels if labelled else {}, "annotations": annotations}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_a_labelled_namespace_is_a_drills() -> None:
    assert Scratch.of(_namespace("wp-drill-abc", labelled=False)) is None, "a user's namespace is never swept"
    found = Scratch.of(_namespace("wp-drill-abc", owner="Drill s/d", runner="op-1"))
    assert found == Scratch("wp-drill-abc", "b-drill-x", "b", "Drill s/d", "op-1", NOW, False)


def test_abandoned_by_a_stale_heartbeat_or_a_runner_gone_from_this_machine_but_never_when_kept() -> None:
    def scratch(**kw: object) -> Scratch:
        found = Scratch.of(_namespace("n", **kw))  # type: ignore[arg-type]
        assert found is not None
        return found

    later = NOW + dt.timedelta(seconds=drill_scratch.HEARTBEAT_STALE - 1)
    stale = NOW + dt.timedelta(seconds=drill_scratch.HEARTBEAT_STALE)
    assert not scratch().abandoned(later), "renewed under a minute ago, on another machine: may be running"
    assert scratch().abandoned(stale)
    assert not scratch(kept=True).abandoned(stale), "kept for a look"
    assert scratch(runner=f"{HOST}:{_dead_pid()}").abandoned(later), "its process here is gone: killed"
    assert not scratch(runner=f"{HOST}:{os.getpid()}").abandoned(later), "its process here runs"
    assert not scratch(runner="operator-7f3a2c").abandoned(later), "an operator's identity is no process here"
    assert scratch().stale_at() == stale


def test_the_heartbeat_is_renewed_while_open_and_never_on_a_namespace_being_deleted() -> None:
    old = NOW - dt.timedelta(hours=1)
    api = FakeApi({"/api/v1/namespaces/a": _namespace("a", beat=old), "/api/v1/namespaces/b": _namespace("b", beat=old)})
    api.objects["/api/v1/namespaces/b"]["metadata"]["deletionTimestamp"] = "2026-12-02T16:00:00Z"
    client = api.client()
    with Heartbeat(client, ["a"], every=0.05) as beat:
        beat.add(["b", "not-yet-made"])
        wait_for(lambda: (s := Scratch.of(api.objects["/api/v1/namespaces/a"])) and s.heartbeat != old,
                 timeout=10, what="a heartbeat renewed")
    assert Scratch.of(api.objects["/api/v1/namespaces/b"]).heartbeat == old  # type: ignore[union-attr]
    assert ("PUT", "/api/v1/namespaces/b") not in api.requests


def test_removing_scratch_namespaces_removes_the_volumes_they_retained_and_nothing_else() -> None:
    def pv(name: str, namespace: str) -> dict:  # type: ignore[type-arg]
        return {"metadata": {"name": name}, "status": {"phase": "Released"},
                "spec": {"claimRef": {"namespace": namespace, "name": "data"}, "persistentVolumeReclaimPolicy": "Retain"}}

    api = FakeApi({"/api/v1/namespaces/wp-drill-1": _namespace("wp-drill-1"),
                   "/api/v1/namespaces/wp": _namespace("wp", labelled=False),
                   "/api/v1/persistentvolumes/pv-1": pv("pv-1", "wp-drill-1"),
                   "/api/v1/persistentvolumes/pv-2": pv("pv-2", "wp")})
    started = time.monotonic()
    assert remove_scratch(api.client(), ["wp-drill-1"], seconds=30) == []
    assert time.monotonic() - started < 10, "a retained volume is removed at once, not at the deadline"
    assert sorted(api.objects) == ["/api/v1/namespaces/wp", "/api/v1/persistentvolumes/pv-2"]


def test_a_drill_first_removes_what_a_killed_drill_of_its_backup_left_and_says_what_it_leaves() -> None:
    stale = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    fresh = dt.datetime.now(dt.timezone.utc)
    api = FakeApi({f"/api/v1/namespaces/{n['metadata']['name']}": n for n in [
        _namespace("killed", beat=stale),
        _namespace("killed-here", beat=fresh, runner=f"{HOST}:{_dead_pid()}"),
        _namespace("running", beat=fresh),
        _namespace("kept", beat=stale, kept=True),
        _namespace("other-backup", backup="c", beat=stale),
        _namespace("operators", owner="Drill salvage/nightly", beat=stale),
        _namespace("users-drill-abc123", beat=stale, labelled=False),
    ]})
    said: list[Event] = []
    _remove_abandoned(api.client(), DrillRequest(backup="b"), said.append)

    left = sorted(s.namespace for s in list_scratch(api.client()))
    assert left == ["kept", "operators", "other-backup", "running"]
    assert "/api/v1/namespaces/users-drill-abc123" in api.objects
    warnings = [e.message for e in said if isinstance(e, Logged)]
    assert any(w.startswith("removed namespace killed, left by drill b-drill-x") for w in warnings), warnings
    assert any(w.startswith("removed namespace killed-here,") for w in warnings), warnings
    [running] = [w for w in warnings if "namespace running" in w]
    assert "may still be running" in running and "`salvage drill run --from-backup b` after" in running
    [kept] = [w for w in warnings if "namespace kept" in w]
    assert "`kubectl delete namespace kept`" in kept
