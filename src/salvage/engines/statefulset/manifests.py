"""StatefulSet and claim bodies built from a source StatefulSet (pure; no I/O)."""

from __future__ import annotations

import copy
from typing import Any

from salvage.engines.sanitize import sanitize
from salvage.model.errors import UsageError
from salvage.volumes.method import at_least

SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def creatable(statefulset: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A backed-up or user-written StatefulSet, ready to create in ``namespace``."""
    body = sanitize(statefulset, namespace_map={}, class_map={})
    body.setdefault("apiVersion", "apps/v1")
    body.setdefault("kind", "StatefulSet")
    body["metadata"]["namespace"] = namespace
    return body


def snapshot_source(snapshot: str) -> dict[str, str]:
    return {"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snapshot}


def pick_template(statefulset: dict[str, Any], wanted: str | None) -> str:
    """The claim template a snapshot feeds: the named one, or the only one."""
    names = [t["metadata"]["name"] for t in statefulset.get("spec", {}).get("volumeClaimTemplates") or []]
    label = statefulset.get("metadata", {}).get("name", "?")
    if not names:
        raise UsageError(f"StatefulSet {label} has no volumeClaimTemplates; there is no claim to fill from a snapshot.")
    if wanted:
        if wanted not in names:
            raise UsageError(f"StatefulSet {label} has no claim template {wanted!r}.",
                             hint=f"Its templates are: {', '.join(names)}.")
        return wanted
    if len(names) > 1:
        raise UsageError(f"StatefulSet {label} has several claim templates ({', '.join(names)}).",
                         hint="Say which one the snapshot fills with --claim-template.")
    return str(names[0])


def current_snapshot(statefulset: dict[str, Any], template: str) -> str | None:
    """The VolumeSnapshot a claim template takes its data from, if any."""
    for claim in statefulset.get("spec", {}).get("volumeClaimTemplates") or []:
        if claim["metadata"]["name"] == template:
            spec = claim.get("spec", {})
            ref = spec.get("dataSourceRef") or spec.get("dataSource") or {}
            if ref.get("kind") == "VolumeSnapshot" and ref.get("apiGroup") == SNAPSHOT_GROUP:
                return str(ref["name"])
    return None


def from_snapshot(source: dict[str, Any], *, name: str, namespace: str, template: str, snapshot: str,
                  restore_size: int = 0, replicas: int | None = None,
                  annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A new StatefulSet like ``source`` whose ``template`` claims start from ``snapshot``."""
    body = creatable(source, namespace)
    meta = body["metadata"]
    meta["name"] = name
    meta.pop("ownerReferences", None)
    if annotations:
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    for claim in body["spec"]["volumeClaimTemplates"]:
        if claim["metadata"]["name"] != template:
            continue
        spec = claim.setdefault("spec", {})
        spec.pop("dataSourceRef", None)
        spec["dataSource"] = snapshot_source(snapshot)
        at_least(spec, restore_size)
    return body


def claim_from_template(statefulset: dict[str, Any], template: str, claim: str, namespace: str) -> dict[str, Any]:
    """The claim the StatefulSet controller would create for ``template``, before its data
    source is set: it carries the template's labels and the selector's, as the controller's do."""
    found = next(t for t in statefulset["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == template)
    spec = copy.deepcopy(found.get("spec") or {})
    labels = {**(found["metadata"].get("labels") or {}),
              **(statefulset["spec"].get("selector", {}).get("matchLabels") or {})}
    meta: dict[str, Any] = {"name": claim, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if found["metadata"].get("annotations"):
        meta["annotations"] = dict(found["metadata"]["annotations"])
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}
