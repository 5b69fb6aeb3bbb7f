"""The operator's install manifests (namespace, ServiceAccount, least-privilege roles,
Deployment, metrics Service), and applying or removing them.

Every RBAC rule carries the reason it exists (the engine call that needs it); docs/operator.md
shows them, rendered from ``RULES`` (a unit test keeps the two equal)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salvage import __version__
from salvage.k8s.api_groups import api_version_path, apps
from salvage.k8s.api_groups import path as api_path
from salvage.k8s.apply import apply, wait_established
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import wait_for
from salvage.model.errors import KubernetesError, NotReadyError
from salvage.operator.crds import GROUP, crds

JSON = dict[str, Any]

NAME = "salvage"
IMAGE = f"salvage.local/salvage:{__version__}"
METRICS_PORT = 8080
LABELS = {"app.kubernetes.io/name": "salvage", "app.kubernetes.io/part-of": "salvage"}


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    reason: str

    def to_json(self) -> JSON:
        return {"apiGroups": list(self.api_groups), "resources": list(self.resources), "verbs": list(self.verbs)}


# Cluster-wide: what the backup and restore engines do to the cluster's objects.
RULES = (
    Rule(("*",), ("*",), ("get", "list"),
         "backup lists every resource discovery finds (raw JSON, CRDs too) and reads the PVs, storage classes, "
         "snapshot classes and CRDs the selected objects depend on; restore checks what exists; a repository "
         "password is read from its Secret"),
    Rule(("*",), ("*",), ("create",),
         "restore creates every kind a backup holds (namespaces, PVs, claims, workloads, custom objects); "
         "snapshot hooks run commands through pods/exec"),
    Rule(("*",), ("*",), ("update",), "restore with existingResourcePolicy update replaces existing objects; a "
         "drill renews its scratch namespaces' heartbeat annotation"),
    Rule(("*",), ("*",), ("delete",),
         "restore removes what it created when damaged data stops it (rollback); backup deletion (TTL) removes "
         "its VolumeSnapshots; the csi-snapshot method removes the temporary VolumeSnapshot it binds; a drill "
         "removes its scratch namespaces and the volumes their claims bound, and those a stopped drill left"),
    Rule(("snapshot.storage.k8s.io",), ("volumesnapshotcontents",), ("patch",),
         "the csi-snapshot method makes a captured snapshot's content Retain, so it outlives its namespace"),
    Rule(("",), ("pods", "secrets"), ("patch",),
         "data-mover pods: each temporary Secret gets its pod as owner (removed with it), and a run renews "
         "its pods' heartbeat annotation, so a later run can remove those of a killed one (docs/data-mover.md)"),
    Rule(("",), ("persistentvolumeclaims",), ("patch",),
         "a restored claim carries restore.salvage.io/filling until all its files are in, so a run that "
         "was stopped halfway is refilled, never taken for whole"),
)
# In the operator's namespace only: its own objects and its Lease.
NAMESPACED_RULES = (
    Rule((GROUP,), ("backups", "restores", "schedules", "backuplocations"), ("get", "list", "watch"),
         "the operator watches its custom resources"),
    Rule((GROUP,), ("backups",), ("create", "delete"),
         "location sync creates Backup objects for backups found on a location; TTL deletes expired ones"),
    Rule((GROUP,), ("backups/status", "restores/status", "schedules/status", "backuplocations/status"), ("patch",),
         "reconcilers write status (phase, counts, errors, times)"),
    Rule((GROUP,), ("drills",), ("get", "list", "watch"), "the operator watches Drill resources"),
    Rule((GROUP,), ("drills/status",), ("patch",), "the Drill reconciler writes each drill's outcome"),
    Rule(("coordination.k8s.io",), ("leases",), ("get", "create", "update"),
         "leader election: exactly one replica works"),
)


def _meta(name: str, namespace: str | None = None) -> JSON:
    meta: JSON = {"name": name, "labels": dict(LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def manifests(namespace: str = NAME, *, image: str = IMAGE, host_paths: tuple[str, ...] = (),
              with_crds: bool = True) -> list[JSON]:
    """Everything `salvage install` applies, in order. ``host_paths`` are node directories
    mounted at the same path in the operator's pod (filesystem BackupLocations)."""
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "name": NAME}
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]
    objects: list[JSON] = list(crds()) if with_crds else []
    objects += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(namespace)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(NAME),
         "rules": [r.to_json() for r in RULES]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": _meta(NAME),
         "roleRef": {**role_ref, "kind": "ClusterRole"}, "subjects": subject},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(NAME, namespace),
         "rules": [r.to_json() for r in NAMESPACED_RULES]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(NAME, namespace),
         "roleRef": {**role_ref, "kind": "Role"}, "subjects": subject},
        _deployment(namespace, image, host_paths),
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(f"{NAME}-metrics", namespace),
         "spec": {"selector": dict(LABELS),
                  "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}]}},
    ]
    return objects


def _deployment(namespace: str, image: str, host_paths: tuple[str, ...]) -> JSON:
    volumes = [{"name": f"location-{i}", "hostPath": {"path": p, "type": "DirectoryOrCreate"}}
               for i, p in enumerate(host_paths)]
    field = lambda path: {"valueFrom": {"fieldRef": {"fieldPath": path}}}  # noqa: E731
    container: JSON = {
        "name": "operator", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["salvage"], "args": ["operator", "run"],
        "env": [{"name": "POD_NAME", **field("metadata.name")}, {"name": "POD_NAMESPACE", **field("metadata.namespace")},
                {"name": "SALVAGE_DATA_DIR", "value": "/tmp/salvage"}],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        "volumeMounts": [{"name": f"location-{i}", "mountPath": p} for i, p in enumerate(host_paths)],
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(NAME, namespace),
        "spec": {
            "replicas": 1, "selector": {"matchLabels": dict(LABELS)},
            # Recreate: the old pod lets the Lease go before the new one starts.
            "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": dict(LABELS)},
                         "spec": {"serviceAccountName": NAME, "containers": [container], "volumes": volumes,
                                  "terminationGracePeriodSeconds": 30}},
        },
    }


def collection_of(obj: JSON) -> str:
    """The API collection an install object goes to."""
    api, kind = obj["apiVersion"], obj["kind"]
    plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
              "ClusterRoleBinding": "clusterrolebindings", "Role": "roles", "RoleBinding": "rolebindings",
              "Deployment": "deployments", "Service": "services",
              "CustomResourceDefinition": "customresourcedefinitions"}[kind]
    return api_path(api_version_path(api), plural, obj["metadata"].get("namespace"))


def install(client: KubeClient, objects: list[JSON]) -> list[tuple[JSON, str]]:
    """Apply each object in order (CRDs Established before anything uses them); what each became."""
    results = []
    for obj in objects:
        results.append((obj, apply(client, collection_of(obj), obj)))
        if obj["kind"] == "CustomResourceDefinition":
            wait_established(client, [obj["metadata"]["name"]])
    return results


def wait_ready(client: KubeClient, namespace: str, seconds: float) -> None:
    """Wait until the operator's Deployment has a ready replica (watched, k8s/waits.py)."""
    ready = lambda d: d is not None and int((d.get("status") or {}).get("readyReplicas") or 0) >= 1  # noqa: E731
    try:
        wait_for(client, apps("deployments", namespace, "salvage"), ready, time.monotonic() + seconds,
                 f"Deployment {namespace}/salvage", interval=1.0)
    except NotReadyError:
        raise KubernetesError(f"The operator (Deployment {namespace}/salvage) is not ready after {seconds:.0f}s.",
                              hint=f"See why: `kubectl -n {namespace} describe pod -l "
                                   f"app.kubernetes.io/name=salvage` and its logs.") from None


def uninstall(client: KubeClient, namespace: str = NAME, *, delete_crds: bool = False,
              delete_namespace: bool = False) -> list[tuple[JSON, bool]]:
    """Remove the operator. The CRDs (with every Backup, Restore, Schedule and BackupLocation
    object) and the namespace (with its Secrets) go only when asked; backups on locations
    are never touched."""
    objects = list(reversed(manifests(namespace, with_crds=delete_crds)))
    results = []
    for obj in objects:
        if obj["kind"] == "Namespace" and not delete_namespace:
            continue
        path = f"{collection_of(obj)}/{obj['metadata']['name']}"
        results.append((obj, client.delete_if_present(path, propagationPolicy="Foreground")))
    return results


def rules_markdown() -> str:
    """The RBAC rules with their reasons, as the table in docs/operator.md."""
    lines = ["| scope | API groups | resources | verbs | why |", "|---|---|---|---|---|"]
    for scope, rules in (("cluster", RULES), ("namespace", NAMESPACED_RULES)):
        for r in rules:
            groups = ", ".join(f"`{g or 'core'}`" for g in r.api_groups)
            lines.append(f"| {scope} | {groups} | {', '.join(r.resources)} | {', '.join(r.verbs)} | {r.reason} |")
    return "\n".join(lines) + "\n"


