"""Schedules as every front door writes and reads them: a request checked when made (so a
bad one is refused before the cluster is asked), its object, and the reads and changes the
`schedule` verbs make."""

from __future__ import annotations

import httpx
import pytest

from salvage.engines.backup import BackupRequest
from salvage.engines.backup_retention import RetentionPolicy
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.engines.schedule_objects import (
    ScheduleRequest, create_schedule, delete_schedule, get_schedule, list_schedules, retention_policy,
    schedule_backups, set_paused,
)
from salvage.engines.selection import Selection
from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.model.errors import NotFoundError, UsageError
from tests.support.fake_kube import FakeApi

GROUP = "/apis/salvage.io/v1alpha1/namespaces/ops"
TEMPLATE = BackupRequest("nightly", Selection(("wp",)), snapshot_volumes=False, ttl_seconds=720 * 3600)


def _nightly(**changes: object) -> ScheduleRequest:
    fields: dict[str, object] = dict(name="nightly", cron="30 2 * * *", template=TEMPLATE, time_zone="Europe/Paris",
                                     retention={"daily": 7, "floorCompleted": 3}, ttl="720h",
                                     password_secret="repo:pw")
    return ScheduleRequest(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_schedule_request_becomes_its_object() -> None:
    api = FakeApi()
    create_schedule(api.client(), "ops", _nightly(paused=True))
    made = api.objects[f"{GROUP}/schedules/nightly"]
    assert (made["apiVersion"], made["kind"], made["metadata"]) == ("salvage.io/v1alpha1", "Schedule",
                                                                    {"name": "nightly"})
    spec = made["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["paused"], spec["concurrencyPolicy"]) == (
        "30 2 * * *", "Europe/Paris", True, "Forbid")
    assert spec["retention"] == {"daily": 7, "floorCompleted": 3}
    assert spec["template"]["includeNamespaces"] == ["wp"] and spec["template"]["ttl"] == "720h"
    assert spec["template"]["snapshotVolumes"] is False
    assert spec["template"]["repoPasswordSecret"] == {"name": "repo", "key": "pw"}
    # what the operator reads back of it
    assert retention_policy(spec) == RetentionPolicy(daily=7, floor_completed=3, time_zone="Europe/Paris")


def test_without_retention_a_schedule_keeps_every_backup() -> None:
    api = FakeApi()
    create_schedule(api.client(), "ops", _nightly(retention={}))
    spec = api.objects[f"{GROUP}/schedules/nightly"]["spec"]
    assert "retention" not in spec and retention_policy(spec) is None


@pytest.mark.parametrize(("changes", "error"), [
    ({"concurrency_policy": "Replace"}, "--concurrency-policy 'Replace' must be Forbid or Allow"),
    ({"cron": "0 25 * * *"}, "hour"),
    ({"time_zone": "Mars/Olympus"}, "Mars/Olympus"),
    ({"retention": {"keepLast": -1}}, "keep-last is -1"),
    ({"password_secret": "no good"}, "does not name a Secret"),
])
def test_a_bad_schedule_is_refused_when_made(changes: dict[str, object], error: str) -> None:
    with pytest.raises(UsageError, match=error):
        _nightly(**changes)


def test_a_name_taken_is_refused_with_the_way_out() -> None:
    api = FakeApi()
    create_schedule(api.client(), "ops", _nightly())
    with pytest.raises(UsageError, match="A Schedule named 'nightly' already exists") as taken:
        create_schedule(api.client(), "ops", _nightly())
    assert "salvage schedule delete nightly" in (taken.value.hint or "")


def test_reading_pausing_and_deleting_schedules() -> None:
    api = FakeApi()
    client = api.client()
    create_schedule(client, "ops", _nightly())
    assert [s["metadata"]["name"] for s in list_schedules(client, "ops")] == ["nightly"]
    set_paused(client, "ops", "nightly", True)
    assert get_schedule(client, "ops", "nightly")["spec"]["paused"] is True
    set_paused(client, "ops", "nightly", False)
    assert get_schedule(client, "ops", "nightly")["spec"]["paused"] is False
    delete_schedule(client, "ops", "nightly")
    for change in (lambda: get_schedule(client, "ops", "nightly"), lambda: set_paused(client, "ops", "nightly", True),
                   lambda: delete_schedule(client, "ops", "nightly")):
        with pytest.raises(NotFoundError, match="no Schedule 'nightly' in namespace 'ops'"):
            change()
    assert list_schedules(client, "ops") == []


def test_a_schedules_backups_come_newest_first() -> None:
    label = {SCHEDULE_LABEL: "nightly"}
    api = FakeApi({f"{GROUP}/backups/{name}": {"metadata": {"name": name, "labels": label, "creationTimestamp": at}}
                   for name, at in [("a", "2026-11-02T02:30:00Z"), ("b", "2026-11-03T02:30:00Z"),
                                    ("c", "2026-11-01T02:30:00Z")]})
    assert [b["metadata"]["name"] for b in schedule_backups(api.client(), "ops", "nightly")] == ["b", "a", "c"]
    assert api.requests[-1] == ("GET", f"{GROUP}/backups")


def test_listing_without_the_crds_says_to_install_the_operator() -> None:
    def no_crds(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"kind": "Status", "code": 404, "message": "not found"})
    bare = KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(no_crds))
    with pytest.raises(UsageError, match="no Schedule resource") as missing:
        list_schedules(bare, "ops")
    assert "salvage install" in (missing.value.hint or "")
