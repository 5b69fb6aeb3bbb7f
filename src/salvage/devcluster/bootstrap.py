"""The objects a fresh local cluster needs: CRDs, fake nodes, a default StorageClass."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from salvage.drivers.hostpath.names import DRIVER as HOSTPATH_DRIVER
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import has_condition
from salvage.model.errors import ClusterError

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_PREFIX = "kwok-node-"
# Beside a real node, kwok nodes take only pods that tolerate this taint (scale tests), so a
# pod without a nodeSelector or toleration runs on the real node, for real.
KWOK_TAINT = {"key": "salvage.io/kwok", "value": "fake", "effect": "NoSchedule"}
COREDNS_USER = "system:salvage-coredns"
DEFAULT_STORAGE_CLASS = "standard"
DEFAULT_SNAPSHOT_CLASS = "hostpath"
_CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crds(client: KubeClient, folders: list[Path]) -> None:
    """Create every CRD found in ``folders`` (skipping existing ones) and wait until established."""
    names = []
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                client.create_if_absent(_CRD_PATH, doc)
                names.append(doc["metadata"]["name"])
    deadline = time.monotonic() + 30
    for name in names:
        while not has_condition(client.get(f"{_CRD_PATH}/{name}"), "Established"):
            if time.monotonic() > deadline:
                raise ClusterError(f"CustomResourceDefinition {name} was not established within 30s.")
            time.sleep(0.1)


def create_defaults(client: KubeClient) -> None:
    """Default storage for the hostpath driver: StorageClasses, a CSIDriver, a snapshot class."""
    classes = "/apis/storage.k8s.io/v1/storageclasses"
    client.create_if_absent(classes, _storage_class(DEFAULT_STORAGE_CLASS, "Immediate", default=True))
    client.create_if_absent(classes, _storage_class(f"{DEFAULT_STORAGE_CLASS}-wffc", "WaitForFirstConsumer"))
    # No kubelet runs here, so nothing would ever attach a volume: say attachment isn't needed.
    client.create_if_absent("/apis/storage.k8s.io/v1/csidrivers", {
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": HOSTPATH_DRIVER},
        "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]},
    })
    client.create_if_absent("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {
            "name": DEFAULT_SNAPSHOT_CLASS,
            "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
        },
        "driver": HOSTPATH_DRIVER,
        "deletionPolicy": "Delete",
    })


def _storage_class(name: str, binding: str, *, default: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
        "provisioner": HOSTPATH_DRIVER, "reclaimPolicy": "Delete", "volumeBindingMode": binding,
        "allowVolumeExpansion": False,
    }


def create_node_roles(client: KubeClient) -> None:
    """What CoreDNS may read to answer for Services and pods (kubelet and kube-proxy are
    covered by the Node authorizer and the default system:node-proxier binding)."""
    client.create_if_absent("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "salvage:coredns"},
        "rules": [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
             "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    })
    client.create_if_absent("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "salvage:coredns"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "salvage:coredns"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COREDNS_USER}],
    })


def node_manifest(name: str, *, taint: bool = False) -> dict[str, Any]:
    resources = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "type": "kwok",
            },
        },
        "spec": {"taints": [KWOK_TAINT]} if taint else {},
        "status": {"capacity": resources, "allocatable": resources},
    }


def ensure_nodes(client: KubeClient, count: int, *, taint: bool = False) -> bool:
    """Make sure nodes ``kwok-node-0..count-1`` exist (tainted beside a real node); True
    when any was created."""
    created = False
    for index in range(count):
        created |= client.create_if_absent("/api/v1/nodes", node_manifest(f"{NODE_PREFIX}{index}", taint=taint))
    return created


def wait_ready(client: KubeClient, nodes: int, *, timeout: float) -> None:
    """Wait until ``nodes`` nodes are Ready and the default ServiceAccount exists (pods need it)."""
    deadline = time.monotonic() + timeout
    while True:
        ready = sum(1 for n in client.list("/api/v1/nodes") if node_ready(n))
        has_sa = client.exists("/api/v1/namespaces/default/serviceaccounts/default")
        if ready >= nodes and has_sa:
            return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"Only {ready} of {nodes} node(s) became Ready"
                + ("" if has_sa else " and the default ServiceAccount was not created")
                + f" within {timeout:.0f}s."
            )
        time.sleep(0.2)


def node_ready(node: dict[str, Any]) -> bool:
    return has_condition(node, "Ready")
