"""Every API path Salvage calls, spelled here once per API group: callers name the group's
resource (``core("pods", namespace, name)``) and never build a URL themselves."""

from __future__ import annotations

CORE = "/api/v1"
APPS = "/apis/apps/v1"
STORAGE = "/apis/storage.k8s.io/v1"
APIEXTENSIONS = "/apis/apiextensions.k8s.io/v1"
COORDINATION = "/apis/coordination.k8s.io/v1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
# The CSI snapshot API (an add-on: the external-snapshotter's CRDs).
SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"
# Salvage's own resources (the operator's CRDs, rendered by operator/crds.py).
SALVAGE_GROUP = "salvage.io"
SALVAGE_VERSION = "v1alpha1"
SALVAGE_API_VERSION = f"{SALVAGE_GROUP}/{SALVAGE_VERSION}"
SALVAGE = f"/apis/{SALVAGE_API_VERSION}"
# kind -> resource, for the paths of objects of ours
SALVAGE_PLURALS = {"BackupLocation": "backuplocations", "Backup": "backups", "Restore": "restores",
                   "Schedule": "schedules", "Drill": "drills"}


def path(group: str, resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """The collection (no ``name``) or object path of ``resource`` in the group at ``group``
    (one of the constants above, or ``api_version_path``'s answer), in ``namespace`` if given."""
    where = f"{group}/namespaces/{namespace}/{resource}" if namespace else f"{group}/{resource}"
    return f"{where}/{name}" if name else where


def api_version_path(api_version: str) -> str:
    """The group path of an object's ``apiVersion`` ("v1", "apps/v1", "salvage.io/v1alpha1")."""
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


def core(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """A core-group path: ``core("persistentvolumeclaims", "shop", "data-web-0")``."""
    return path(CORE, resource, namespace, name)


def apps(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    return path(APPS, resource, namespace, name)


def storage(resource: str, name: str | None = None) -> str:
    """storage.k8s.io (cluster-scoped: storageclasses, csinodes, volumeattachments)."""
    return path(STORAGE, resource, None, name)


def snapshots(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """snapshot.storage.k8s.io: volumesnapshots (namespaced), volumesnapshotcontents and
    volumesnapshotclasses (cluster-scoped)."""
    return path(SNAPSHOTS, resource, namespace, name)


def salvage(resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """salvage.io: backups, restores, schedules, backuplocations, drills (namespaced; all
    namespaces when ``namespace`` is None)."""
    return path(SALVAGE, resource, namespace, name)


def crds(name: str | None = None) -> str:
    return path(APIEXTENSIONS, "customresourcedefinitions", None, name)
