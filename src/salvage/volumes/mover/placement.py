"""Where a claim's mover pod must run.

An RWO claim in use is mounted on one node, and a second pod can mount it only there: the
mover goes to the node of the pod using it (with that pod's tolerations, as the node may be
tainted for it). An RWX claim, or one nobody uses, may be mounted anywhere its volume can be
attached; the scheduler works that out from the PV's node affinity.

kwok's nodes run no containers (the local cluster's scale tests): a volume placed on one
cannot be reached by a pod, only read where the hostpath driver keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError

JSON = dict[str, Any]

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
_SHARED_MODES = {"ReadWriteMany", "ReadOnlyMany"}


@dataclass(frozen=True)
class Placement:
    node: str | None = None  # None: wherever the scheduler puts it
    tolerations: tuple[JSON, ...] = ()
    fake_node: bool = False  # the volume is on a kwok node: no pod can mount it


def place(client: KubeClient, claim: JSON, pv: JSON) -> Placement:
    meta = claim["metadata"]
    user = _user_pod(client, meta["namespace"], meta["name"])
    shared = bool(_SHARED_MODES & set(claim.get("spec", {}).get("accessModes") or []))
    node = user["spec"]["nodeName"] if user and not shared else None
    tolerations = tuple(user["spec"].get("tolerations") or []) if user and node else ()
    return Placement(node, tolerations, _is_fake(client, node or volume_node(pv)))


def volume_node(pv: JSON) -> str | None:
    """The one node a PV is pinned to (its node affinity, or the hostpath driver's attribute)."""
    spec = pv.get("spec", {})
    node = ((spec.get("csi") or {}).get("volumeAttributes") or {}).get("node")
    if node:
        return str(node)
    terms = ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    values = [v for term in terms for e in term.get("matchExpressions") or []
              if e.get("key") == "kubernetes.io/hostname" and e.get("operator") == "In" for v in e.get("values") or []]
    return str(values[0]) if len(values) == 1 else None


def _user_pod(client: KubeClient, namespace: str, claim: str) -> JSON | None:
    for pod in client.list(core("pods", namespace)):
        if pod.get("status", {}).get("phase") not in ("Pending", "Running") or not pod["spec"].get("nodeName"):
            continue
        if (pod["metadata"].get("labels") or {}).get("salvage.io/temporary") == "true":
            continue  # another mover
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in pod["spec"].get("volumes") or []):
            return pod
    return None


def _is_fake(client: KubeClient, node: str | None) -> bool:
    if not node:
        return False
    try:
        found = client.find(core("nodes", None, node))
    except KubernetesError:
        return False
    return bool(found and KWOK_NODE_ANNOTATION in (found["metadata"].get("annotations") or {}))
