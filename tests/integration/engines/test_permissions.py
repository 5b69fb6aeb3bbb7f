"""Resources the credentials may not list are warnings; the backup goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from salvage.devcluster.local_cluster import LIMITED_USER, LocalCluster
from salvage.k8s.client import KubeClient
from tests.integration.engines.workload import comparable

pytestmark = pytest.mark.integration

_RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
def limited_reader(kube: KubeClient, ns: str) -> Iterator[str]:
    """The limited user may read configmaps and namespaces, and nothing else."""
    name = f"salvage-test-reader-{ns}"
    kube.create(f"{_RBAC}/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": ["configmaps", "namespaces"], "verbs": ["get", "list"]}]})
    kube.create(f"{_RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "User", "name": LIMITED_USER, "apiGroup": "rbac.authorization.k8s.io"}]})
    yield name
    kube.delete(f"{_RBAC}/clusterrolebindings/{name}")
    kube.delete(f"{_RBAC}/clusterroles/{name}")


def test_forbidden_resources_become_warnings(kube: KubeClient, ns: str, cluster: LocalCluster,
                                             limited_reader: str, salvage_home: object) -> None:
    kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "visible"}, "data": {"a": "1"}})
    kube.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hidden"}, "stringData": {"b": "2"}})

    def salvage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "salvage", "--kubeconfig", str(cluster.limited_kubeconfig), *args],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})

    result = salvage("backup", "create", "limited", "--include-namespaces", ns, "--no-snapshot-volumes")
    assert result.returncode == 0, result.stderr
    assert "warning: could not list secrets" in result.stderr
    described = json.loads(salvage("-o", "json", "backup", "describe", "limited").stdout)
    assert described["phase"] == "Completed"
    assert described["resources"]["configmaps"] == 2  # ours and kube-root-ca.crt
    assert "secrets" not in described["resources"]
    assert any("secrets" in w and "forbidden" in w for w in described["warnings"])
    assert comparable(kube, ns)["ConfigMap/visible"]["data"] == {"a": "1"}
