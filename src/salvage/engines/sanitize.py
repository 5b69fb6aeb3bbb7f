"""Make a backed-up object creatable again: drop what the server owns, apply mappings.

Pure functions on raw JSON (no I/O), so every rule is unit-tested.
"""

from __future__ import annotations

import copy
from typing import Any

_SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                    "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
_BINDING_ANNOTATIONS = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                        "volume.kubernetes.io/selected-node", "volume.beta.kubernetes.io/storage-provisioner",
                        "volume.kubernetes.io/storage-provisioner")


def sanitize(obj: dict[str, Any], *, namespace_map: dict[str, str], class_map: dict[str, str]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    out.pop("status", None)
    if meta.get("namespace") in namespace_map:
        meta["namespace"] = namespace_map[meta["namespace"]]
    kind = out.get("kind")
    if kind == "Service":
        _service(out)
    elif kind == "PersistentVolumeClaim":
        _claim(out, class_map)
    elif kind == "PersistentVolume":
        _volume(out, namespace_map, class_map)
    elif kind == "Namespace":
        if meta.get("name") in namespace_map:
            meta["name"] = namespace_map[meta["name"]]
        out.pop("spec", None)
    return out


def _service(svc: dict[str, Any]) -> None:
    spec = svc.get("spec", {})
    # A headless Service keeps clusterIP None; any allocated address is the server's to give.
    if spec.get("clusterIP") not in (None, "None"):
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
    spec.pop("healthCheckNodePort", None)


def _claim(claim: dict[str, Any], class_map: dict[str, str]) -> None:
    annotations = claim["metadata"].get("annotations") or {}
    for key in _BINDING_ANNOTATIONS:
        annotations.pop(key, None)
    spec = claim.get("spec", {})
    if spec.get("storageClassName") in class_map:
        spec["storageClassName"] = class_map[spec["storageClassName"]]


def _volume(pv: dict[str, Any], namespace_map: dict[str, str], class_map: dict[str, str]) -> None:
    annotations = pv["metadata"].get("annotations") or {}
    annotations.pop("pv.kubernetes.io/bound-by-controller", None)
    spec = pv.get("spec", {})
    ref = spec.get("claimRef")
    if ref:
        for key in ("uid", "resourceVersion"):
            ref.pop(key, None)
        if ref.get("namespace") in namespace_map:
            ref["namespace"] = namespace_map[ref["namespace"]]
    if spec.get("storageClassName") in class_map:
        spec["storageClassName"] = class_map[spec["storageClassName"]]


def skip_reason(obj: dict[str, Any]) -> str | None:
    """Why an object is not restored at all (its owner or the cluster re-creates it)."""
    meta = obj.get("metadata", {})
    kind = obj.get("kind")
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return "owned by a controller, which re-creates it"
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        return "service-account token, issued by the cluster"
    if kind == "ConfigMap" and meta.get("name") == "kube-root-ca.crt":
        return "published by the cluster in every namespace"
    if kind in ("Event", "Endpoints", "EndpointSlice"):
        return "maintained by the cluster"
    return None
