"""What ``backup create`` and ``restore create`` select: namespaces, resources (by plural,
kind, short name and ``.group``), labels, and cluster-scoped objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.backups import backed_up
from tests.support.builders import namespace
from tests.support.cli import Result, salvage

pytestmark = pytest.mark.integration

RBAC = "/apis/rbac.authorization.k8s.io/v1"
# The objects each namespace gets: (resource as backed up, API collection, name, labelled app=web)
OBJECTS = [
    ("configmaps", "/api/v1/namespaces/{ns}/configmaps", "web-config", True),
    ("configmaps", "/api/v1/namespaces/{ns}/configmaps", "other-config", False),
    ("secrets", "/api/v1/namespaces/{ns}/secrets", "web-secret", True),
    ("roles.rbac.authorization.k8s.io", RBAC + "/namespaces/{ns}/roles", "web-role", True),
]
OURS = {(resource, name) for resource, _, name, _ in OBJECTS}


@dataclass(frozen=True)
class Apps:
    """Two namespaces with the same objects, and a cluster role, on the session's cluster."""

    kubeconfig: Path
    first: str
    second: str
    cluster_role: str

    def cli(self, *args: str) -> Result:
        return salvage(self.kubeconfig, *args)

    def backup(self, name: str, *options: str) -> set[tuple[str, str, str]]:
        result = self.cli("backup", "create", name, *options)
        assert result.returncode == 0, result.stderr
        return backed_up(name)


def _object(resource: str, name: str, labelled: bool) -> dict[str, Any]:
    kind = {"configmaps": "ConfigMap", "secrets": "Secret"}.get(resource, "Role")
    body: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1" if kind == "Role" else "v1", "kind": kind,
                            "metadata": {"name": name, "labels": {"app": "web"} if labelled else {}}}
    if kind == "Role":
        body["rules"] = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    else:
        body["data"] = {}
    return body


def _fill(kube: KubeClient, ns: str) -> None:
    for resource, collection, name, labelled in OBJECTS:
        kube.create(collection.format(ns=ns), _object(resource, name, labelled))


@pytest.fixture
def apps(cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> Iterator[Apps]:
    second = f"{ns}-b"
    kube.create("/api/v1/namespaces", namespace(second))
    role = f"{ns}-reader"
    kube.create(f"{RBAC}/clusterroles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                          "metadata": {"name": role, "labels": {"app": "web"}}, "rules": []})
    try:
        for each in (ns, second):
            _fill(kube, each)
        yield Apps(cluster.kubeconfig, ns, second, role)
    finally:
        kube.delete(f"{RBAC}/clusterroles/{role}")
        kube.delete(f"/api/v1/namespaces/{second}")


def _ours(objects: set[tuple[str, str, str]], ns: str) -> set[tuple[str, str]]:
    """Which of the test's own objects in ``ns`` are among ``objects``."""
    return {(resource, name) for resource, where, name in objects if where == ns} & OURS


def _namespaced_resources(objects: set[tuple[str, str, str]]) -> set[str]:
    return {resource for resource, where, _ in objects if where}


def test_backup_namespace_filters(apps: Apps) -> None:
    both = apps.backup("both", "--include-namespaces", f"{apps.first}*")
    assert _ours(both, apps.first) == _ours(both, apps.second) == OURS
    first_only = apps.backup("first", "--include-namespaces", f"{apps.first}*", "--exclude-namespaces", apps.second)
    assert _ours(first_only, apps.first) == OURS
    assert {where for _, where, _ in first_only if where} == {apps.first}


def test_backup_resource_filters_by_plural_kind_short_name_and_group(apps: Apps) -> None:
    only = ["--include-namespaces", apps.first]
    for n, word in enumerate(("configmaps", "ConfigMap", "cm")):
        objects = apps.backup(f"cm-{n}", *only, "--include-resources", word)
        assert _namespaced_resources(objects) == {"configmaps"}, word
        assert _ours(objects, apps.first) == {("configmaps", "web-config"), ("configmaps", "other-config")}, word
    roles = apps.backup("roles", *only, "--include-resources", "roles.rbac.authorization.k8s.io")
    assert _namespaced_resources(roles) == {"roles.rbac.authorization.k8s.io"}
    wrong_group = apps.backup("wrong-group", *only, "--include-resources", "roles.apps")
    assert _namespaced_resources(wrong_group) == set(), "a .group must match the resource's group"
    without = apps.backup("without", *only, "--exclude-resources", "secrets,cm")
    assert _ours(without, apps.first) == {("roles.rbac.authorization.k8s.io", "web-role")}
    assert "serviceaccounts" in _namespaced_resources(without), "everything not excluded is kept"


def test_backup_label_selector(apps: Apps) -> None:
    for option in ("-l", "--selector"):
        objects = apps.backup(f"web{option}", "--include-namespaces", apps.first, option, "app=web")
        assert _ours(objects, apps.first) == OURS - {("configmaps", "other-config")}, option
        assert "serviceaccounts" not in _namespaced_resources(objects), "unlabelled objects are left out"


def test_backup_cluster_scoped_objects_true_false_auto(apps: Apps) -> None:
    only = ["--include-namespaces", apps.first]
    auto = apps.backup("auto", *only)
    assert {(r, n) for r, where, n in auto if not where} == {("namespaces", apps.first)}, \
        "auto: only what the namespaced objects depend on (here their namespace)"
    never = apps.backup("never", *only, "--include-cluster-resources", "false")
    assert [o for o in never if not o[1]] == []
    assert _ours(never, apps.first) == OURS
    everything = apps.backup("all", *only, "--include-cluster-resources", "true",
                             "--include-resources", "clusterroles,configmaps")
    assert ("clusterroles.rbac.authorization.k8s.io", "", apps.cluster_role) in everything
    assert _namespaced_resources(everything) == {"configmaps"}
    bad = apps.cli("backup", "create", "bad", *only, "--include-cluster-resources", "maybe")
    assert bad.returncode == 2 and "--include-cluster-resources must be auto, true or false" in bad.stderr
    assert "bad" not in apps.cli("backup", "get").stdout


def test_restore_filters(apps: Apps, kube: KubeClient) -> None:
    apps.backup("source", "--include-namespaces", f"{apps.first}*")

    def restore(copy: str, *options: str) -> dict[str, set[tuple[str, str]]]:
        """Restore both namespaces mapped to ``copy-a`` and ``copy-b``; what of ours arrived in each."""
        result = apps.cli("restore", "create", f"r-{copy}", "--from-backup", "source", "--namespace-mappings",
                          f"{apps.first}:{copy}-a,{apps.second}:{copy}-b", *options)
        assert result.returncode == 0, result.stderr
        arrived = {}
        for target in (f"{copy}-a", f"{copy}-b"):
            arrived[target] = {(resource, obj["metadata"]["name"])
                               for resource, collection, _, _ in OBJECTS
                               for obj in (kube.list(collection.format(ns=target))
                                           if kube.exists(f"/api/v1/namespaces/{target}") else [])} & OURS
        return arrived

    copies = []
    try:
        copies.append(c := f"{apps.first}-n")
        assert restore(c, "--include-namespaces", apps.first) == {f"{c}-a": OURS, f"{c}-b": set()}
        copies.append(c := f"{apps.first}-x")
        assert restore(c, "--exclude-namespaces", apps.first) == {f"{c}-a": set(), f"{c}-b": OURS}
        copies.append(c := f"{apps.first}-r")
        configmaps = {("configmaps", "web-config"), ("configmaps", "other-config")}
        assert restore(c, "--include-resources", "cm") == {f"{c}-a": configmaps, f"{c}-b": configmaps}
        copies.append(c := f"{apps.first}-e")
        no_secrets = OURS - {("secrets", "web-secret")}
        assert restore(c, "--exclude-resources", "secrets") == {f"{c}-a": no_secrets, f"{c}-b": no_secrets}
        copies.append(c := f"{apps.first}-l")
        labelled = OURS - {("configmaps", "other-config")}
        assert restore(c, "-l", "app=web") == {f"{c}-a": labelled, f"{c}-b": labelled}
    finally:
        for copy in copies:
            for target in (f"{copy}-a", f"{copy}-b"):
                if kube.exists(f"/api/v1/namespaces/{target}"):
                    kube.delete(f"/api/v1/namespaces/{target}")
