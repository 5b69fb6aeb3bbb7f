"""The order in which restored objects are created: what others depend on goes first."""

from __future__ import annotations

PRIORITIES = (
    "customresourcedefinitions.apiextensions.k8s.io",
    "namespaces",
    "storageclasses.storage.k8s.io",
    "volumesnapshotclasses.snapshot.storage.k8s.io",
    "volumesnapshotcontents.snapshot.storage.k8s.io",
    "volumesnapshots.snapshot.storage.k8s.io",
    "persistentvolumes",
    "persistentvolumeclaims",
    "serviceaccounts",
    "secrets",
    "configmaps",
    "limitranges",
    "resourcequotas",
    "clusterroles.rbac.authorization.k8s.io",
    "roles.rbac.authorization.k8s.io",
    "clusterrolebindings.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "services",
    "poddisruptionbudgets.policy",
    "statefulsets.apps",
    "deployments.apps",
    "daemonsets.apps",
    "replicasets.apps",
    "jobs.batch",
    "cronjobs.batch",
    "pods",
)


def rank(qualified: str, *, custom: bool) -> int:
    """Position of a resource; unknown built-ins come after the known, custom ones last."""
    if qualified in PRIORITIES:
        return PRIORITIES.index(qualified)
    return len(PRIORITIES) + (1 if custom else 0)
