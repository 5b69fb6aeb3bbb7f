"""``statefulset clone``: a new StatefulSet whose claims start from one VolumeSnapshot (seed 002's
consumer): every replica's claim is provisioned with the snapshot's data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salvage.engines.statefulset import workload_state as kube
from salvage.engines.statefulset.manifests import from_snapshot, pick_template
from salvage.engines.statefulset.naming import (
    SNAPSHOT_ANNOTATION,
    claim_name,
    replicas_of,
)
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import wait_until
from salvage.model.errors import NotFoundError, NotReadyError, UsageError
from salvage.model.progress import Progress, Step, quiet



@dataclass(frozen=True)
class CloneRequest:
    snapshot: str
    name: str
    namespace: str
    # The StatefulSet to copy: a manifest (a file's), or the name of one in the namespace.
    source: dict[str, Any] | str
    replicas: int | None = None
    claim_template: str | None = None
    wait: bool = True
    timeout: float = 300.0


@dataclass(frozen=True)
class CloneReport:
    name: str
    namespace: str
    snapshot: str
    replicas: int
    claims: tuple[str, ...]
    ready: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "snapshot": self.snapshot,
                "replicas": self.replicas, "claims": list(self.claims), "ready": self.ready,
                "seconds": round(self.seconds, 3)}


def clone_statefulset(client: KubeClient, request: CloneRequest,
                      progress: Progress = quiet) -> CloneReport:
    started = time.monotonic()
    ns = request.namespace
    if request.replicas is not None and request.replicas < 0:
        raise UsageError("--replicas cannot be negative.")
    source = _source(client, request)
    snapshot = kube.volume_snapshot(client, ns, request.snapshot)
    if client.find(kube.statefulset_path(ns, request.name)) is not None:
        raise UsageError(f"StatefulSet {ns}/{request.name} already exists; nothing was changed.",
                         hint="Choose another name with --to.")
    template = pick_template(source, request.claim_template)
    body = from_snapshot(source, name=request.name, namespace=ns, template=template,
                         snapshot=request.snapshot, restore_size=kube.restore_size(snapshot),
                         replicas=request.replicas, annotations={SNAPSHOT_ANNOTATION: request.snapshot})
    replicas = replicas_of(body)
    progress(Step(f"creating StatefulSet {ns}/{request.name} ({replicas} replicas) "
                  f"from VolumeSnapshot {request.snapshot}"))
    client.create(kube.statefulset_path(ns), body)
    claims = tuple(claim_name(template, request.name, o) for o in range(replicas))
    if request.wait:
        progress(Step(f"waiting for {replicas} pod(s) of {request.name} to be Running"))
        deadline = started + request.timeout
        try:
            wait_until(lambda: kube.pods_running(client, ns, request.name, replicas), deadline,
                            f"the pods of StatefulSet {ns}/{request.name} to be Running")
        except NotReadyError as exc:
            trouble = kube.claim_trouble(client, ns, list(claims))
            raise NotReadyError(
                f"{exc.message}" + (f" {trouble}." if trouble else ""),
                hint=f"StatefulSet {request.name} was left in place; look with `kubectl describe pvc -n {ns}`, "
                     f"or remove it with `kubectl delete statefulset {request.name} -n {ns}`.") from None
    return CloneReport(request.name, ns, request.snapshot, replicas, claims, request.wait,
                       time.monotonic() - started)


def _source(client: KubeClient, request: CloneRequest) -> dict[str, Any]:
    if not isinstance(request.source, str):
        return request.source
    found = client.find(kube.statefulset_path(request.namespace, request.source))
    if found is None:
        raise NotFoundError(f"There is no StatefulSet {request.source!r} in namespace {request.namespace}.",
                            hint=f"List them with `kubectl get statefulsets -n {request.namespace}`.")
    return found
