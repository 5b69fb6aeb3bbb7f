"""Take, find, wait for and delete volume snapshots through the CSI snapshot API.

Works on any cluster with ``snapshot.storage.k8s.io/v1``: nothing here knows a particular
driver. The driver is read from the PVC's PersistentVolume and checked against the
VolumeSnapshotClass before anything is created, so a mismatch fails at once with a clear
message instead of as a snapshot that never becomes ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salvage.engines.snapshot_hooks import Hook, held_by_hooks, pods_mounting
from salvage.k8s.api_groups import SNAPSHOTS, core, snapshots
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import wait_for
from salvage.model.errors import HookError, NotFoundError, NotReadyError, SnapshotError, UsageError
from salvage.volumes.csi_snapshots import default_class, is_ready, snapshot_error, wait_snapshot

JSON = dict[str, Any]
Report = Callable[[str], None]

_POLL = 0.5


@dataclass(frozen=True)
class CreateRequest:
    name: str
    namespace: str
    pvc: str
    snapshot_class: str | None = None
    wait: bool = False
    timeout: float = 300.0
    # Hooks from the command line; None leaves each phase to the pods' annotations.
    pre_hook: Hook | None = None
    post_hook: Hook | None = None


def snapshot_path(namespace: str, name: str = "") -> str:
    base = snapshots("volumesnapshots", namespace)
    return f"{base}/{name}" if name else base


def create_snapshot(client: KubeClient, request: CreateRequest, report: Report = lambda _m: None) -> JSON:
    """Check the request, run the pre hooks, create the VolumeSnapshot, wait until it is cut,
    run the post hooks (also when anything before failed), then optionally wait until ready."""
    ns, name = request.namespace, request.name
    claim = bound_claim(client, ns, request.pvc)
    driver = csi_driver(client, claim)
    klass = snapshot_class_for(client, request.snapshot_class, driver)
    if client.exists(snapshot_path(ns, name)):
        raise UsageError(f"VolumeSnapshot {ns}/{name} already exists.",
                         hint="Choose another name, or delete it with `salvage snapshot delete`.")
    pods = pods_mounting(client, ns, request.pvc)
    if (request.pre_hook or request.post_hook) and not pods:
        raise UsageError(f"--pre-hook/--post-hook given, but no running pod mounts PVC {ns}/{request.pvc}.",
                         hint="Hooks run in the pods that use the volume; start one, or leave the hooks out.")
    hold = held_by_hooks(client, pods, report, pre_hook=request.pre_hook, post_hook=request.post_hook,
                         strict_post=True)
    created: JSON | None = None
    try:
        with hold:
            created = client.create(snapshot_path(ns), _manifest(request, klass["metadata"]["name"]))
            report(f"volumesnapshot {ns}/{name} created (class {klass['metadata']['name']}, driver {driver})")
            snapshot = _wait_until(client, ns, name, _is_cut, request.timeout)
            if snapshot is None:
                report(f"warning: volumesnapshot {ns}/{name} was not taken within {request.timeout:g}s; "
                       "running the post hooks anyway")
                snapshot = created
    except HookError as exc:
        if created is None:  # a pre hook failed
            raise HookError(f"{exc.message} VolumeSnapshot {ns}/{name} was not created.", hint=exc.hint) from exc
        raise HookError(f"VolumeSnapshot {ns}/{name} was created, but: {exc.message}", hint=exc.hint) from exc
    if request.wait:
        snapshot = wait_ready(client, ns, name, request.timeout)
    return snapshot


def bound_claim(client: KubeClient, namespace: str, name: str) -> JSON:
    claim = client.find(core("persistentvolumeclaims", namespace, name))
    if claim is None:
        raise NotFoundError(f"PersistentVolumeClaim {namespace}/{name} does not exist.",
                            hint=f"List the claims with `kubectl get pvc -n {namespace}`.")
    phase = (claim.get("status") or {}).get("phase")
    if phase != "Bound" or not claim["spec"].get("volumeName"):
        raise SnapshotError(f"PersistentVolumeClaim {namespace}/{name} is {phase or 'not bound'}, not Bound; "
                            "only a bound claim has data to snapshot.",
                            hint=f"Wait for it to bind (`kubectl get pvc {name} -n {namespace}`) and try again.")
    return claim


def csi_driver(client: KubeClient, claim: JSON) -> str:
    """The CSI driver of the claim's PersistentVolume (the only kind the snapshot API can copy)."""
    pv_name = claim["spec"]["volumeName"]
    pv = client.get(core("persistentvolumes", None, pv_name))
    driver = (pv["spec"].get("csi") or {}).get("driver")
    if not driver:
        meta = claim["metadata"]
        raise SnapshotError(f"PersistentVolume {pv_name} of claim {meta['namespace']}/{meta['name']} is not a CSI "
                            "volume, so the CSI snapshot API cannot snapshot it.",
                            hint="Back it up at file level instead (`salvage fs backup`).")
    return str(driver)


def snapshot_class_for(client: KubeClient, name: str | None, driver: str) -> JSON:
    """The named VolumeSnapshotClass, checked against ``driver``; else the one backups would
    use (volumes/csi_snapshots.py, ``default_class``)."""
    require_snapshot_api(client)
    if name:
        klass = client.find(snapshots("volumesnapshotclasses", None, name))
        if klass is None:
            raise NotFoundError(f"VolumeSnapshotClass {name} does not exist.", hint=_classes_hint(client, driver))
        if klass.get("driver") != driver:
            raise UsageError(f"VolumeSnapshotClass {name} is for driver {klass.get('driver')}, but the volume "
                             f"belongs to driver {driver}.", hint=_classes_hint(client, driver))
        return klass
    return default_class(client.list(snapshots("volumesnapshotclasses")), driver)


def require_snapshot_api(client: KubeClient) -> None:
    """Fail clearly on a cluster without the CSI snapshot API (its CRDs are an add-on)."""
    if not client.exists(SNAPSHOTS):
        raise SnapshotError(
            f"The cluster at {client.connection.server} does not serve snapshot.storage.k8s.io/v1.",
            hint="Install the CSI external-snapshotter's CRDs and snapshot-controller, and a CSI driver "
            "that supports snapshots.",
        )


def get_snapshot(client: KubeClient, namespace: str, name: str) -> JSON:
    snapshot = client.find(snapshot_path(namespace, name))
    if snapshot is None:
        require_snapshot_api(client)
        raise NotFoundError(f"VolumeSnapshot {namespace}/{name} does not exist.",
                            hint=f"List snapshots with `salvage snapshot get -n {namespace}`.")
    return snapshot


def list_snapshots(client: KubeClient, namespace: str | None) -> list[JSON]:
    require_snapshot_api(client)
    path = snapshot_path(namespace) if namespace else snapshots("volumesnapshots")
    items = list(client.list(path))
    return sorted(items, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"]))


def content_of(client: KubeClient, snapshot: JSON) -> JSON | None:
    """The bound VolumeSnapshotContent, or None while there is none."""
    name = (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName")
    return client.find(snapshots("volumesnapshotcontents", None, name)) if name else None


def delete_snapshot(client: KubeClient, namespace: str, name: str, *, wait: bool = False,
                    timeout: float = 120.0) -> None:
    get_snapshot(client, namespace, name)
    client.delete(snapshot_path(namespace, name))
    if wait:
        try:
            wait_for(client, snapshot_path(namespace, name), lambda s: s is None, time.monotonic() + timeout,
                     f"VolumeSnapshot {namespace}/{name} to be removed", interval=_POLL)
        except NotReadyError:
            raise SnapshotError(f"VolumeSnapshot {namespace}/{name} was not removed within {timeout:g}s.",
                                hint=f"See its finalizers: `kubectl get volumesnapshot {name} -n {namespace} "
                                "-o yaml`.") from None


def wait_ready(client: KubeClient, namespace: str, name: str, timeout: float) -> JSON:
    snapshot = _wait_until(client, namespace, name, is_ready, timeout)
    if snapshot is not None:
        return snapshot
    error = snapshot_error(get_snapshot(client, namespace, name))
    raise SnapshotError(
        f"VolumeSnapshot {namespace}/{name} did not become ready within {timeout:g}s: "
        + (error or "no error was reported (the driver may not be running)") + ".",
        hint=f"See `salvage snapshot describe {name} -n {namespace}`; it is kept, so remove it with "
        f"`salvage snapshot delete {name} -n {namespace}` if it is not wanted.",
    )


def _is_cut(snapshot: JSON) -> bool:
    """The point in time is fixed (or it failed): hooks that paused the app may release it."""
    status = snapshot.get("status") or {}
    return bool(status.get("creationTime") or status.get("readyToUse") or status.get("error"))


def _wait_until(client: KubeClient, namespace: str, name: str, done: Callable[[JSON], bool],
                timeout: float) -> JSON | None:
    return wait_snapshot(client, snapshot_path(namespace, name), done, timeout, interval=_POLL)


def _manifest(request: CreateRequest, klass: str) -> JSON:
    meta: JSON = {"name": request.name, "namespace": request.namespace}
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": meta,
        "spec": {"volumeSnapshotClassName": klass, "source": {"persistentVolumeClaimName": request.pvc}},
    }


def _classes_hint(client: KubeClient, driver: str) -> str:
    names = sorted(c["metadata"]["name"] for c in client.list(snapshots("volumesnapshotclasses"))
                   if c.get("driver") == driver)
    if not names:
        return f"No VolumeSnapshotClass exists for driver {driver}; create one."
    return f"VolumeSnapshotClasses for driver {driver}: {', '.join(names)}."
