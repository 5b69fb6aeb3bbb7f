"""``restore create --existing-resource-policy`` and ``--storage-class-mappings``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.integration.engines import workload
from tests.support.builders import storage_class
from tests.support.cli import salvage
from tests.support.volumes import tree_digest, volume_dir

pytestmark = pytest.mark.integration


def test_existing_objects_are_kept_unless_the_policy_is_update(
        cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> None:
    config = f"/api/v1/namespaces/{ns}/configmaps/settings"
    kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "labels": {"v": "1"}},
        "data": {"mode": "backed-up"}})
    assert salvage(cluster.kubeconfig, "backup", "create", "b", "--include-namespaces", ns).returncode == 0
    kube.patch(config, {"metadata": {"labels": {"v": "2"}}, "data": {"mode": "changed since"}})

    def restore(name: str, *options: str) -> str:
        result = salvage(cluster.kubeconfig, "restore", "create", name, "--from-backup", "b",
                         "--include-resources", "configmaps", *options)
        assert result.returncode == 0, result.stderr
        described = salvage(cluster.kubeconfig, "-o", "json", "restore", "describe", name)
        [item] = [i for i in json.loads(described.stdout)["items"] if i["name"] == "settings"]
        return str(item["action"])

    assert restore("default") == "skipped"
    assert kube.get(config)["data"] == {"mode": "changed since"}, "policy none: the live object stays"
    assert restore("none", "--existing-resource-policy", "none") == "skipped"
    assert kube.get(config)["data"] == {"mode": "changed since"}

    assert restore("update", "--existing-resource-policy", "update") == "updated"
    live = kube.get(config)
    assert live["data"] == {"mode": "backed-up"} and live["metadata"]["labels"] == {"v": "1"}

    bad = salvage(cluster.kubeconfig, "restore", "create", "bad", "--from-backup", "b",
                  "--existing-resource-policy", "overwrite")
    assert bad.returncode == 2 and "overwrite" in bad.stderr and "none or update" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_storage_class_mappings_put_restored_volumes_on_the_new_class(
        cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> None:
    fast = f"{ns}-fast"
    kube.create("/apis/storage.k8s.io/v1/storageclasses", storage_class(fast))
    copy = f"{ns}-copy"
    try:
        digest = workload.deploy(kube, ns)  # its claim is on the default class, `standard`
        assert kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-pg-0")["spec"]["storageClassName"] \
            == "standard"
        assert salvage(cluster.kubeconfig, "backup", "create", "b", "--include-namespaces", ns).returncode == 0

        result = salvage(cluster.kubeconfig, "restore", "create", "--from-backup", "b",
                         "--namespace-mappings", f"{ns}:{copy}", "--storage-class-mappings", f"standard:{fast}")

        assert result.returncode == 0, result.stderr
        workload.wait_ready(kube, copy)
        claim = kube.get(f"/api/v1/namespaces/{copy}/persistentvolumeclaims/data-pg-0")
        assert claim["spec"]["storageClassName"] == fast
        assert kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")["spec"]["storageClassName"] == fast
        assert tree_digest(volume_dir(kube, copy, "data-pg-0")) == digest, "the data came along"
        original = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-pg-0")
        assert original["spec"]["storageClassName"] == "standard", "the original is untouched"
    finally:
        if kube.exists(f"/api/v1/namespaces/{copy}"):
            kube.delete(f"/api/v1/namespaces/{copy}")
        kube.delete(f"/apis/storage.k8s.io/v1/storageclasses/{fast}")
