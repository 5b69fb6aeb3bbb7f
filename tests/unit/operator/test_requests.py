"""A reconciler's object becomes the engine's typed request, field by field."""

from __future__ import annotations

import threading

import pytest

from salvage.model.errors import UsageError
from salvage.operator.backups import backup_request
from salvage.operator.controller import _WorkQueue
from salvage.operator.restores import restore_request


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
    from salvage.engines.backup import BackupRequest
    from salvage.engines.selection import Selection
    from salvage.operator.backups import backup_spec

    request = BackupRequest("s", Selection(("wp",), ("kube-*",), ("*",), ("events",)), selector="app=web",
                            cluster_resources="true", snapshot_volumes=False, ttl_seconds=3600,
                            snapshot_timeout=60.0, default_volumes_to_fs=True, volume_snapshot_provider="csi",
                            labels={"salvage.io/schedule": "s"}, snapshot_move_data=True)
    spec = backup_spec(request, ttl="1h", location="shared", password_secret=("repo", "pw"))
    assert spec["location"] == "shared" and spec["repoPasswordSecret"] == {"name": "repo", "key": "pw"}
    assert backup_request("s", spec, None, {"salvage.io/schedule": "s"}) == request


def test_restore_spec_to_request() -> None:
    request = restore_request("r1", {"backupName": "b1", "namespaceMapping": {"wp": "wp-copy"},
                                     "existingResourcePolicy": "update", "dryRun": True, "wait": False,
                                     "timeoutSeconds": 30}, None)
    assert (request.backup, request.namespace_map, request.existing_policy) == ("b1", {"wp": "wp-copy"}, "update")
    assert (request.dry_run, request.wait, request.timeout) == (True, False, 30.0)


def test_work_queue_holds_a_key_changed_in_flight_until_done() -> None:
    queue, stop = _WorkQueue(), threading.Event()
    queue.add(("backups", "a"))
    queue.add(("backups", "a"))
    assert queue.take(stop) == ("backups", "a")
    queue.add(("backups", "a"))  # changed while reconciled: not handed to a second worker
    assert queue.ready == []
    queue.done(("backups", "a"))
    assert queue.take(stop) == ("backups", "a")
    queue.done(("backups", "a"))
    queue.add_after(("backups", "b"), 0.05)
    assert queue.take(stop) == ("backups", "b")
