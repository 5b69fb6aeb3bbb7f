"""The CRDs on a real API server: accepted, served, and refusing invalid objects."""

from __future__ import annotations

import pytest

from salvage.k8s.apply import CRDS, apply, wait_established
from salvage.model.errors import KubernetesError
from salvage.operator.crds import API_VERSION, collection, crds

pytestmark = pytest.mark.integration


def _obj(kind: str, name: str, spec: dict) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def test_crds_apply_and_validate(kube, ns) -> None:  # type: ignore[no-untyped-def]
    for crd in crds():
        apply(kube, CRDS, crd)
    assert apply(kube, CRDS, crds()[0]) == "configured"  # idempotent
    wait_established(kube, [c["metadata"]["name"] for c in crds()])

    kube.create(collection("backups", ns), _obj("Backup", "good", {"includeNamespaces": ["app"], "ttl": "720h"}))
    kube.create(collection("schedules", ns), _obj("Schedule", "nightly", {
        "schedule": "0 2 * * *", "timeZone": "Europe/Paris", "template": {"includeNamespaces": ["app"]},
        "retention": {"daily": 7, "floorCompleted": 2}}))
    bad = [
        ("backups", _obj("Backup", "bad-ttl", {"ttl": "a week"})),
        ("backups", _obj("Backup", "bad-enum", {"includeClusterResources": "maybe"})),
        ("restores", _obj("Restore", "no-backup", {"includeNamespaces": ["app"]})),
        ("restores", _obj("Restore", "bad-policy", {"backupName": "b", "existingResourcePolicy": "merge"})),
        ("backuplocations", _obj("BackupLocation", "bad-provider", {"provider": "ftp", "bucket": "x"})),
        ("backuplocations", _obj("BackupLocation", "bad-endpoint", {"provider": "s3", "bucket": "x",
                                                                     "endpoint": "minio:9000"})),
        ("schedules", _obj("Schedule", "bad-cron", {"schedule": "daily", "template": {}})),
        ("schedules", _obj("Schedule", "bad-floor", {"schedule": "0 2 * * *", "template": {},
                                                     "retention": {"floorCompleted": 0}})),
    ]
    for plural, body in bad:
        with pytest.raises(KubernetesError) as refused:
            kube.create(collection(plural, ns), body)
        assert refused.value.status == 422, body["metadata"]["name"]
    # The status subresource: status written through it, and ignored on the main resource.
    path = f"{collection('backups', ns)}/good"
    current = kube.get(path)
    kube.replace(f"{path}/status", dict(current, status={"phase": "Completed", "items": 3}))
    assert kube.get(path)["status"] == {"phase": "Completed", "items": 3}
