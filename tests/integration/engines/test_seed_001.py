"""Seed 001 replayed: back up a namespace with its volume, delete it, restore it."""

from __future__ import annotations

import json

import pytest

from salvage.devcluster.local_cluster import shared_snapshot_root
from salvage.k8s.client import KubeClient
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage

pytestmark = pytest.mark.integration


def test_namespace_deleted_and_restored_with_its_data(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    digest = workload.deploy(kube, ns)
    before = workload.comparable(kube, ns)

    created = salvage("backup", "create", "wp-nightly", "--include-namespaces", ns)
    assert created.stdout.strip() == "wp-nightly"
    described = json.loads(salvage("-o", "json", "backup", "describe", "wp-nightly").stdout)
    assert described["phase"] == "Completed"
    assert described["resources"]["statefulsets.apps"] == 1
    assert described["resources"]["persistentvolumes"] == 1, "auto includes the PV the claim depends on"
    assert [v["method"] for v in described["volumes"]] == ["csi-snapshot"]

    workload.delete_namespace(kube, ns)
    restored = salvage("restore", "create", "wp-back", "--from-backup", "wp-nightly")
    assert restored.stdout.strip() == "wp-back"

    workload.wait_ready(kube, ns)
    assert workload.comparable(kube, ns) == before
    assert workload.digest_of(kube, ns) == digest, "the volume's bytes must be identical"
    pod = kube.get(f"/api/v1/namespaces/{ns}/pods/pg-0")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == ["data-pg-0"], "the StatefulSet's pod adopts the restored claim by name"

    report = json.loads(salvage("-o", "json", "restore", "describe", "wp-back").stdout)
    actions = {(i["resource"], i["name"]): i["action"] for i in report["items"]}
    assert actions[("statefulsets.apps", "pg")] == "created"
    assert actions[("persistentvolumeclaims", "data-pg-0")] == "created"
    assert actions[("pods", "pg-0")] == "skipped"
    assert report["phase"] == "Completed"
    # The restore's temporary snapshot objects are gone; the backup's snapshot stays.
    snapshots = kube.list(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots")
    assert list(snapshots) == []
    [volume] = described["volumes"]
    content = kube.get(f"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/{volume['volumeSnapshotContent']}")
    assert content["spec"]["deletionPolicy"] == "Retain"
    assert content["status"]["snapshotHandle"] == volume["snapshotHandle"]
    assert (shared_snapshot_root() / volume["snapshotHandle"]).is_dir(), "the snapshot's data is still there"


def test_restore_into_a_mapped_namespace_while_the_original_runs(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    digest = workload.deploy(kube, ns)
    salvage("backup", "create", "orig", "--include-namespaces", ns)
    versions = _resource_versions(kube, ns)
    copy = f"{ns}-copy"
    try:
        salvage("restore", "create", "--from-backup", "orig", "--namespace-mappings", f"{ns}:{copy}")
        workload.wait_ready(kube, copy)
        assert workload.digest_of(kube, copy) == digest
        assert workload.comparable(kube, copy).keys() == workload.comparable(kube, ns).keys()
        assert _resource_versions(kube, ns) == versions, "the original must not be touched"
    finally:
        kube.delete(f"/api/v1/namespaces/{copy}")


def test_dry_run_prints_the_plan_and_changes_nothing(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    workload.deploy(kube, ns)
    salvage("backup", "create", "plan-me", "--include-namespaces", ns)
    versions = _resource_versions(kube, ns)
    namespaces = {n["metadata"]["name"] for n in kube.list("/api/v1/namespaces")}

    plan = salvage("restore", "create", "--from-backup", "plan-me", "--dry-run",
                   "--namespace-mappings", f"{ns}:{ns}-dry")
    assert "dry run: nothing changed" in plan.stdout
    assert "data-pg-0" in plan.stdout and "volume from snapshot" in plan.stdout
    again = salvage("restore", "create", "--from-backup", "plan-me", "--dry-run")
    assert "exists: would be skipped" in again.stdout

    assert _resource_versions(kube, ns) == versions
    appeared = {n["metadata"]["name"] for n in kube.list("/api/v1/namespaces")} - namespaces
    assert appeared == set(), "a dry run creates no namespace"
    assert json.loads(salvage("-o", "json", "restore", "get").stdout) == [], "a dry run records no restore"


def _resource_versions(kube: KubeClient, ns: str) -> dict[str, str]:
    out = {}
    for path in ("/api/v1/namespaces/{ns}/secrets", "/api/v1/namespaces/{ns}/configmaps",
                 "/api/v1/namespaces/{ns}/services", "/api/v1/namespaces/{ns}/persistentvolumeclaims",
                 "/apis/apps/v1/namespaces/{ns}/statefulsets"):
        for obj in kube.list(path.format(ns=ns)):
            out[f"{path}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return out
