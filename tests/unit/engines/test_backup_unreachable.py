"""An API server out of reach is an error, never a quiet gap: a backup that could not read
an object it needs is not Completed, and discovery that cannot reach the server stops
(found by tests/faults: the API server going down mid-run left a Completed backup without
its StorageClass)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.k8s.client import KubeClient
from salvage.k8s.discovery import discover
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.retry import NO_RETRY
from salvage.locations import Location, LocationSpec
from salvage.model.errors import KubernetesError
from salvage.storage.memory import MemoryStore
from tests.support.fake_kube import FakeApi

JSON = dict[str, Any]
CLASS = "/apis/storage.k8s.io/v1/storageclasses/standard"


def _resource(name: str, kind: str, namespaced: bool) -> JSON:
    return {"name": name, "kind": kind, "namespaced": namespaced, "verbs": ["list", "get", "create", "delete"]}


def _api() -> FakeApi:
    """Namespace wp with a claim of class ``standard`` (no volume), and that class."""
    return FakeApi({
        "/api": {"versions": ["v1"]},
        "/apis": {"groups": [{"name": "storage.k8s.io", "versions": [{"version": "v1"}]}]},
        "/api/v1": {"resources": [_resource("namespaces", "Namespace", False),
                                  _resource("persistentvolumeclaims", "PersistentVolumeClaim", True)]},
        "/apis/storage.k8s.io/v1": {"resources": [_resource("storageclasses", "StorageClass", False)]},
        "/api/v1/namespaces/wp": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wp"}},
        "/api/v1/namespaces/wp/persistentvolumeclaims/data": {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "wp"},
            "spec": {"storageClassName": "standard"}, "status": {"phase": "Pending"}},
        CLASS: {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"}},
    })


def _client(api: FakeApi, failing: str, how: str) -> KubeClient:
    """``api``, except that GET ``failing`` is cut off (``how="unreachable"``) or answers 404."""
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == failing:
            if how == "unreachable":
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            return httpx.Response(404, json={"kind": "Status", "message": "not found"})
        return api._handle(request)
    return KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(handle),
                      retry=NO_RETRY)


def _backup(client: KubeClient) -> Any:
    location = Location(LocationSpec("mem", "filesystem", "/nowhere"), MemoryStore())
    return create_backup(client, location, BackupRequest("b", Selection(include_namespaces=("wp",)),
                                                         snapshot_volumes=False))


def test_a_related_object_out_of_reach_makes_the_backup_partially_failed() -> None:
    outcome = _backup(_client(_api(), CLASS, "unreachable"))
    assert outcome.phase == "PartiallyFailed"
    assert any("could not read storageclasses.storage.k8s.io standard" in e for e in outcome.errors)


def test_a_related_object_gone_meanwhile_is_a_warning() -> None:
    outcome = _backup(_client(_api(), CLASS, "404"))
    assert outcome.phase == "Completed" and outcome.errors == []
    assert any("could not read storageclasses.storage.k8s.io standard" in w for w in outcome.warnings)


def test_discovery_stops_when_the_server_is_out_of_reach_but_not_for_one_unavailable_group() -> None:
    with pytest.raises(KubernetesError, match="Cannot reach the Kubernetes API"):
        discover(_client(_api(), "/apis/storage.k8s.io/v1", "unreachable"))
    found = discover(_client(_api(), "/apis/storage.k8s.io/v1", "404"))
    assert [r.resource for r in found.resources] == ["namespaces", "persistentvolumeclaims"]
    assert found.warnings and "storage.k8s.io/v1 could not be discovered" in found.warnings[0]


def _revoking(api: FakeApi, after: str) -> KubeClient:
    """``api`` until a request for ``after`` comes: from then on every request is refused
    (403), as when a run's RoleBinding is deleted mid-run."""
    revoked: list[bool] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == after:
            revoked.append(True)
        if revoked:
            return httpx.Response(403, json={"kind": "Status", "code": 403, "reason": "Forbidden",
                                             "message": f"{request.url.path} is forbidden"})
        return api._handle(request)
    return KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(handle),
                      retry=NO_RETRY)


def test_credentials_revoked_mid_run_make_the_backup_partially_failed() -> None:
    """Found by tests/faults/test_credentials.py: with the run's ClusterRoleBinding deleted
    mid-run, every later list was a "forbidden" warning and the backup was Completed without
    those objects."""
    outcome = _backup(_revoking(_api(), "/api/v1/namespaces/wp/persistentvolumeclaims"))
    assert outcome.phase == "PartiallyFailed", outcome
    assert any("lost their rights during the backup" in e for e in outcome.errors), outcome.errors


def test_a_kind_refused_from_the_start_is_still_a_warning() -> None:
    api = _api()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/namespaces/wp/persistentvolumeclaims":
            return httpx.Response(403, json={"kind": "Status", "code": 403, "message": "forbidden"})
        return api._handle(request)
    client = KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(handle),
                        retry=NO_RETRY)
    outcome = _backup(client)
    assert outcome.phase == "Completed" and outcome.errors == []
    assert any("could not list persistentvolumeclaims" in w for w in outcome.warnings)
