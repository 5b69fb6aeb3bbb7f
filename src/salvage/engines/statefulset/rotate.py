"""``statefulset rotate``: move a StatefulSet to a newer snapshot (seed 002's "automate this").

Claim templates are immutable, so the move is a successor StatefulSet (same Service, same
pod template) whose claims start from the new snapshot. Only once all its replicas are
Running is the old one scaled down and deleted with its claims; if the successor is not
ready in time it is removed and the old one is left exactly as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salvage.engines.statefulset import workload_state as kube
from salvage.engines.statefulset.manifests import (
    current_snapshot,
    from_snapshot,
    pick_template,
)
from salvage.engines.statefulset.naming import (
    BASE_ANNOTATION,
    REVISION_ANNOTATION,
    SNAPSHOT_ANNOTATION,
    replicas_of,
    successor_name,
)
from salvage.k8s.api_groups import snapshots
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import delete_and_wait, wait_until
from salvage.model.errors import NotFoundError, NotReadyError, SalvageError, UsageError
from salvage.model.progress import Progress, Step, quiet



class RotateError(SalvageError):
    """The successor did not become ready; it was removed and the old StatefulSet is untouched."""


@dataclass(frozen=True)
class RotateRequest:
    statefulset: str
    namespace: str
    snapshot: str
    claim_template: str | None = None
    delete_old_snapshot: bool = False
    timeout: float = 300.0


@dataclass(frozen=True)
class RotateReport:
    old: str
    new: str
    namespace: str
    old_snapshot: str | None
    new_snapshot: str
    replicas: int
    removed_claims: tuple[str, ...]
    deleted_snapshot: str | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "namespace": self.namespace, "oldSnapshot": self.old_snapshot,
                "newSnapshot": self.new_snapshot, "replicas": self.replicas,
                "removedClaims": list(self.removed_claims), "deletedSnapshot": self.deleted_snapshot,
                "seconds": round(self.seconds, 3)}


def rotate_statefulset(client: KubeClient, request: RotateRequest,
                       progress: Progress = quiet) -> RotateReport:
    started = time.monotonic()
    ns = request.namespace
    old = client.find(kube.statefulset_path(ns, request.statefulset))
    if old is None:
        raise NotFoundError(f"There is no StatefulSet {request.statefulset!r} in namespace {ns}; nothing was changed.",
                            hint=f"List them with `kubectl get statefulsets -n {ns}`.")
    snapshot = kube.volume_snapshot(client, ns, request.snapshot)
    template = pick_template(old, request.claim_template)
    old_snapshot = current_snapshot(old, template)
    if old_snapshot == request.snapshot:
        raise UsageError(f"StatefulSet {ns}/{request.statefulset} already takes its data from {request.snapshot}; "
                         "nothing was changed.", hint="Pass the newer snapshot with --to-snapshot.")
    base, revision, new_name = successor_name(request.statefulset, old["metadata"].get("annotations") or {})
    if client.find(kube.statefulset_path(ns, new_name)) is not None:
        raise UsageError(f"StatefulSet {ns}/{new_name} already exists (left by an earlier rotation?); "
                         "nothing was changed.", hint=f"Delete it first: `kubectl delete statefulset {new_name} -n {ns}`.")
    replicas = replicas_of(old)
    body = from_snapshot(old, name=new_name, namespace=ns, template=template, snapshot=request.snapshot,
                         restore_size=kube.restore_size(snapshot), annotations={
                             BASE_ANNOTATION: base, REVISION_ANNOTATION: str(revision),
                             SNAPSHOT_ANNOTATION: request.snapshot})
    progress(Step(f"creating StatefulSet {ns}/{new_name} from VolumeSnapshot {request.snapshot}"))
    created = client.create(kube.statefulset_path(ns), body)
    deadline = started + request.timeout
    try:
        wait_until(lambda: kube.pods_running(client, ns, new_name, replicas), deadline,
                        f"the {replicas} pod(s) of {new_name} to be Running")
    except NotReadyError:
        trouble = kube.claim_trouble(client, ns, kube.claims_of(client, ns, created))
        progress(Step(f"{new_name} is not ready; removing it"))
        _remove(client, ns, created, time.monotonic() + 60)
        raise RotateError(
            f"StatefulSet {ns}/{new_name} did not become ready within {request.timeout:.0f}s"
            + (f" ({trouble})" if trouble else "") + f"; it was removed and {request.statefulset} is untouched.",
            hint=f"Check VolumeSnapshot {request.snapshot} (`kubectl describe volumesnapshot {request.snapshot} "
                 f"-n {ns}`), or allow more time with --timeout.") from None
    progress(Step(f"{new_name} is ready; scaling down and deleting {request.statefulset}"))
    cleanup_deadline = time.monotonic() + request.timeout
    # Scaling to 0 stops new pods at once; the foreground deletion then removes the pods in
    # parallel through the garbage collector, which an ordered scale-down (one pod at a
    # time, halting at any unhealthy pod) would not.
    client.patch(kube.statefulset_path(ns, request.statefulset), {"spec": {"replicas": 0}})
    removed = _remove(client, ns, old, cleanup_deadline)
    deleted_snapshot = None
    if request.delete_old_snapshot and old_snapshot:
        progress(Step(f"deleting VolumeSnapshot {old_snapshot}"))
        delete_and_wait(client, snapshots("volumesnapshots", ns, old_snapshot),
                             cleanup_deadline, f"VolumeSnapshot {old_snapshot}")
        deleted_snapshot = old_snapshot
    return RotateReport(request.statefulset, new_name, ns, old_snapshot, request.snapshot, replicas,
                        tuple(removed), deleted_snapshot, time.monotonic() - started)


def _remove(client: KubeClient, ns: str, statefulset: dict[str, Any], deadline: float) -> list[str]:
    """Delete a StatefulSet, its pods, then its claims (they outlive it otherwise)."""
    name = statefulset["metadata"]["name"]
    delete_and_wait(client, kube.statefulset_path(ns, name), deadline, f"StatefulSet {name}",
                         propagationPolicy="Foreground")
    wait_until(lambda: kube.pods_gone(client, ns, name, replicas_of(statefulset)), deadline,
                    f"the pods of {name} to stop")
    claims = kube.claims_of(client, ns, statefulset)
    for claim in claims:
        delete_and_wait(client, kube.claim_path(ns, claim), deadline, f"claim {claim}")
    return claims
