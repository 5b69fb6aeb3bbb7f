"""A Backup object's spec and the engine's request, each made from the other; a backup
handed to the operator as a Backup object, and what is refused before anything is written."""

from __future__ import annotations

import httpx
import pytest

from salvage.engines.backup import BackupRequest
from salvage.engines.backup_objects import HandOffRequest, backup_request, backup_spec, hand_off_backup
from salvage.engines.selection import Selection
from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.model.errors import UsageError
from tests.support.fake_kube import FakeApi

BACKUPS = "/apis/salvage.io/v1alpha1/namespaces/salvage/backups"


def test_backup_spec_to_request() -> None:
    request = backup_request("b1", {"includeNamespaces": ["wp"], "excludeResources": ["events"],
                                    "labelSelector": "app=web", "includeClusterResources": "false",
                                    "snapshotVolumes": False, "ttl": "1h30m", "snapshotTimeoutSeconds": 60,
                                    "defaultVolumesToFsBackup": True, "volumeSnapshotProvider": "csi"}, "pw")
    assert request.selection.include_namespaces == ("wp",)
    assert request.selection.include_resources == ("*",)
    assert request.selection.exclude_resources == ("events",)
    assert (request.selector, request.cluster_resources, request.snapshot_volumes) == ("app=web", "false", False)
    assert (request.ttl_seconds, request.snapshot_timeout, request.default_volumes_to_fs) == (5400, 60.0, True)
    assert (request.repo_password, request.volume_snapshot_provider) == ("pw", "csi")


def test_empty_backup_spec_is_the_cli_defaults() -> None:
    request = backup_request("b2", {}, None)
    assert request.selection.include_namespaces == ("*",) and request.snapshot_volumes
    assert request.ttl_seconds is None and request.cluster_resources == "auto"


def test_bad_ttl_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        backup_request("b3", {"ttl": "soon"}, None)


def test_backup_spec_is_the_inverse_of_backup_request() -> None:
    request = BackupRequest("s", Selection(("wp",), ("kube-*",), ("*",), ("events",)), selector="app=web",
                            cluster_resources="true", snapshot_volumes=False, ttl_seconds=3600,
                            snapshot_timeout=60.0, default_volumes_to_fs=True, volume_snapshot_provider="csi",
                            labels={"salvage.io/schedule": "s"}, snapshot_move_data=True)
    spec = backup_spec(request, ttl="1h", location="shared", password_secret=("repo", "pw"))
    assert spec["location"] == "shared" and spec["repoPasswordSecret"] == {"name": "repo", "key": "pw"}
    assert backup_request("s", spec, None, {"salvage.io/schedule": "s"}) == request


def test_a_handed_off_backup_is_a_backup_object_in_the_operators_namespace() -> None:
    api = FakeApi()
    request = BackupRequest("wp-0716", Selection(("wp",)), snapshot_volumes=False, ttl_seconds=720 * 3600,
                            labels={"team": "web"})
    hand_off_backup(api.client(), HandOffRequest(request, "salvage", ttl="720h", location="shared",
                                                 password_secret="repo:pw"))
    made = api.objects[f"{BACKUPS}/wp-0716"]
    assert (made["apiVersion"], made["kind"], made["metadata"]) == (
        "salvage.io/v1alpha1", "Backup", {"name": "wp-0716", "labels": {"team": "web"}})
    assert made["spec"]["includeNamespaces"] == ["wp"] and made["spec"]["snapshotVolumes"] is False
    assert (made["spec"]["ttl"], made["spec"]["location"]) == ("720h", "shared")
    assert made["spec"]["repoPasswordSecret"] == {"name": "repo", "key": "pw"}
    assert backup_request("wp-0716", made["spec"], None, made["metadata"]["labels"]) == request


def test_a_password_secret_in_another_namespace_is_refused_before_anything_is_written() -> None:
    with pytest.raises(UsageError, match="operator's namespace 'salvage'") as refused:
        HandOffRequest(BackupRequest("b"), "salvage", password_secret="backup/repo:pw")
    assert refused.value.hint == "Write --repo-password-secret repo:pw."
    HandOffRequest(BackupRequest("b"), "salvage", password_secret="salvage/repo:pw")  # its own namespace: fine


def test_a_name_taken_and_a_cluster_without_the_crds_are_clear_errors() -> None:
    api = FakeApi()
    handed = HandOffRequest(BackupRequest("b1"), "salvage")
    hand_off_backup(api.client(), handed)
    with pytest.raises(UsageError, match="A Backup named 'b1' already exists in namespace 'salvage'") as taken:
        hand_off_backup(api.client(), handed)
    assert taken.value.hint == "Backups are written once; choose another name."

    def no_crds(request: httpx.Request) -> httpx.Response:  # the namespace is there; the resource is not
        if request.url.path == "/api/v1/namespaces/salvage":
            return httpx.Response(200, json={"kind": "Namespace", "metadata": {"name": "salvage"}})
        return httpx.Response(404, json={"kind": "Status", "code": 404, "message": "not found"})
    bare = KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(no_crds))
    with pytest.raises(UsageError, match="no Backup resource") as missing:
        hand_off_backup(bare, handed)
    assert "salvage install" in (missing.value.hint or "")
