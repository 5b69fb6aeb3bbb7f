"""Restore sizing and the claim a restore creates."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.engines.volume_snapshot_restore import RestoreRequest, claim_manifest, restore_size
from salvage.model.errors import UsageError


def _snapshot(restore: str | None) -> dict[str, Any]:
    status = {"restoreSize": restore} if restore else {}
    return {"metadata": {"name": "s", "namespace": "ns"}, "spec": {"source": {"persistentVolumeClaimName": "data"}},
            "status": status}


def _claim(size: str, **spec: Any) -> dict[str, Any]:
    return {"spec": {"resources": {"requests": {"storage": size}}, **spec}}


def test_default_size_is_the_larger_of_restore_size_and_source_request() -> None:
    assert restore_size(_snapshot("1Gi"), None, None) == 2**30
    assert restore_size(_snapshot("1Gi"), _claim("3Gi"), None) == 3 * 2**30
    assert restore_size(_snapshot(None), _claim("2Gi"), None) == 2 * 2**30


def test_a_requested_size_may_grow_but_not_shrink() -> None:
    assert restore_size(_snapshot("1Gi"), None, "5Gi") == 5 * 2**30
    with pytest.raises(UsageError, match="smaller than VolumeSnapshot ns/s's restore size 1Gi"):
        restore_size(_snapshot("1Gi"), None, "500Mi")
    with pytest.raises(UsageError, match="not a quantity"):
        restore_size(_snapshot("1Gi"), None, "lots")


def test_without_any_size_the_user_is_asked_for_one() -> None:
    with pytest.raises(UsageError) as err:
        restore_size(_snapshot(None), None, None)
    assert err.value.hint == "Give the size with --size."


def test_the_new_claim_copies_the_source_modes_and_names_the_snapshot() -> None:
    source = _claim("1Gi", accessModes=["ReadWriteMany"], volumeMode="Block")
    body = claim_manifest(RestoreRequest("s", "ns", "copy"), _snapshot("1Gi"), source, 2**31, "fast")
    assert body["metadata"] == {"name": "copy", "namespace": "ns"}
    assert body["spec"] == {
        "accessModes": ["ReadWriteMany"], "volumeMode": "Block", "storageClassName": "fast",
        "resources": {"requests": {"storage": "2Gi"}},
        "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "s"},
    }
    assert claim_manifest(RestoreRequest("s", "ns", "c"), _snapshot("1Gi"), None, 2**30, "x")["spec"][
        "accessModes"] == ["ReadWriteOnce"]
