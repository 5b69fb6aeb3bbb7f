"""Builders for Kubernetes objects used in tests (instead of walls of YAML)."""

from __future__ import annotations

from typing import Any


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def headless_service(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"clusterIP": "None", "selector": {"app": app}, "ports": [{"name": "web", "port": 80}]},
    }


def statefulset(name: str, *, replicas: int = 1, service: str | None = None, template: str = "data",
                size: str = "1Gi", storage_class: str | None = None,
                data_source: dict[str, Any] | None = None) -> dict[str, Any]:
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        claim_spec["storageClassName"] = storage_class
    if data_source:
        claim_spec["dataSource"] = data_source
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "serviceName": service or name,
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{
                        "name": "app", "image": "registry.k8s.io/pause:3.10",
                        "volumeMounts": [{"name": template, "mountPath": "/data"}],
                    }],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": template}, "spec": claim_spec}],
        },
    }


def never_ready_deployment(name: str) -> dict[str, Any]:
    """A Deployment whose pod no node takes (a node label nobody has): never available, so
    a drill of it waits for readiness until its timeout (a drill to stop mid-way)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"nodeSelector": {"salvage.test/no-such-node": "true"},
                                       "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}},
    }


def pvc(name: str, *, size: str = "1Gi", storage_class: str | None = None,
        data_source: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    if data_source:
        spec["dataSource"] = data_source
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def volume_snapshot(name: str, pvc_name: str, snapshot_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": pvc_name}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name}, "spec": spec,
    }


def pod(name: str, *, claim: str | None = None, annotations: dict[str, str] | None = None,
        containers: tuple[str, ...] = ("app",)) -> dict[str, Any]:
    """A pod (kwok runs it: no container really starts) mounting ``claim`` at /data."""
    mounts = [{"name": "data", "mountPath": "/data"}] if claim else []
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": "registry.k8s.io/pause:3.10", "volumeMounts": mounts} for c in containers],
    }
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def kwok_exec(pod_name: str, work_dir: str) -> dict[str, Any]:
    """kwok's Exec rule: commands exec'd in ``pod_name`` run on this machine in ``work_dir``."""
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec", "metadata": {"name": pod_name},
        "spec": {"execs": [{"local": {"workDir": work_dir}}]},
    }


def snapshot_class(name: str, *, driver: str = "hostpath.salvage.io", deletion_policy: str = "Delete") -> dict[str, Any]:
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": name}, "driver": driver, "deletionPolicy": deletion_policy,
    }


def storage_class(name: str, *, provisioner: str = "hostpath.salvage.io", reclaim_policy: str = "Delete",
                  binding_mode: str = "Immediate") -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": provisioner, "reclaimPolicy": reclaim_policy, "volumeBindingMode": binding_mode,
    }


def snapshot_source(name: str) -> dict[str, Any]:
    """A claim's dataSource naming a VolumeSnapshot."""
    return {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": name}


def real_pod(name: str, script: str, *, claim: str | None = None, image: str = "",
             labels: dict[str, str] | None = None, ports: tuple[int, ...] = ()) -> dict[str, Any]:
    """A pod for the real node: ``script`` runs in ``sh -c`` in a container of an image built
    by `salvage dev images build` (busybox unless ``image`` is given), ``claim`` at /data."""
    from salvage.devcluster.images.builders import BUSYBOX

    container: dict[str, Any] = {
        "name": "app", "image": image or BUSYBOX.ref, "command": ["sh", "-c", script],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}] if claim else [],
    }
    if ports:
        container["ports"] = [{"containerPort": p} for p in ports]
    spec: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 1}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": spec}
