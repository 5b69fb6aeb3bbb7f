"""Restore a VolumeSnapshot into a new PersistentVolumeClaim (``dataSource``: the snapshot).

Everything is checked before the claim is created — the snapshot is ready, the name is
free, the size holds the snapshot, the StorageClass provisions for the snapshot's driver —
so a refused restore leaves the cluster as it was. The new claim copies the source
claim's access modes and volume mode when that claim still exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salvage.engines.volume_snapshots import JSON, Report, content_of, get_snapshot, is_ready, snapshot_error
from salvage.k8s.api_groups import core, storage
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import is_bound
from salvage.k8s.events import events_for
from salvage.k8s.quantity import format_bytes, parse_quantity
from salvage.k8s.waits import wait_for
from salvage.model.errors import NotFoundError, NotReadyError, SnapshotError, UsageError

DEFAULT_STORAGE_CLASS = "storageclass.kubernetes.io/is-default-class"
_POLL = 0.5


@dataclass(frozen=True)
class RestoreRequest:
    snapshot: str
    namespace: str
    to_pvc: str
    storage_class: str | None = None
    size: str | None = None
    wait: bool = False
    timeout: float = 300.0


def restore_snapshot(client: KubeClient, request: RestoreRequest, report: Report = lambda _m: None) -> JSON:
    ns = request.namespace
    claims = core("persistentvolumeclaims", ns)
    snapshot = get_snapshot(client, ns, request.snapshot)
    if client.exists(f"{claims}/{request.to_pvc}"):
        raise UsageError(f"PersistentVolumeClaim {ns}/{request.to_pvc} already exists; a restore never "
                         "overwrites a claim.", hint="Choose another --to-pvc name, or delete that claim first.")
    if not is_ready(snapshot):
        error = snapshot_error(snapshot)
        raise SnapshotError(f"VolumeSnapshot {ns}/{request.snapshot} is not ready to use"
                            + (f": {error}" if error else "") + ".",
                            hint=f"See `salvage snapshot describe {request.snapshot} -n {ns}`.")
    content = content_of(client, snapshot)
    if content is None:
        raise SnapshotError(f"VolumeSnapshot {ns}/{request.snapshot} has no bound VolumeSnapshotContent.")
    driver = str(content["spec"].get("driver"))
    source = _source_claim(client, ns, snapshot)
    size = restore_size(snapshot, source, request.size)
    klass = _storage_class(client, request.storage_class, driver, source)
    body = claim_manifest(request, snapshot, source, size, klass["metadata"]["name"])
    created = client.create(claims, body)
    report(f"persistentvolumeclaim {ns}/{request.to_pvc} created from volumesnapshot {request.snapshot} "
           f"({format_bytes(size)}, class {klass['metadata']['name']})")
    if not request.wait:
        return created
    if klass.get("volumeBindingMode") == "WaitForFirstConsumer":
        report(f"class {klass['metadata']['name']} binds when a pod uses the claim; not waiting")
        return created
    return _wait_bound(client, ns, request.to_pvc, request.timeout)


def restore_size(snapshot: JSON, source: JSON | None, requested: str | None) -> int:
    """Bytes for the new claim: as asked (never less than the snapshot), else the larger of
    the snapshot's restore size and the source claim's request."""
    name = f"{snapshot['metadata']['namespace']}/{snapshot['metadata']['name']}"
    minimum = _quantity((snapshot.get("status") or {}).get("restoreSize"))
    if requested:
        try:
            size = parse_quantity(requested)
        except ValueError as exc:
            raise UsageError(f"--size {requested!r} is not a quantity such as 1Gi.") from exc
        if minimum and size < minimum:
            raise UsageError(f"--size {requested} is smaller than VolumeSnapshot {name}'s restore size "
                             f"{format_bytes(minimum)}.", hint=f"Ask for at least {format_bytes(minimum)}.")
        return size
    asked = _quantity(((source or {}).get("spec") or {}).get("resources", {}).get("requests", {}).get("storage"))
    size = max(minimum, asked)
    if not size:
        raise UsageError(f"VolumeSnapshot {name} reports no restore size and its source claim is gone.",
                         hint="Give the size with --size.")
    return size


def claim_manifest(request: RestoreRequest, snapshot: JSON, source: JSON | None, size: int,
                   storage_class: str) -> JSON:
    spec = (source or {}).get("spec") or {}
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": request.to_pvc, "namespace": request.namespace},
        "spec": {
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": format_bytes(size)}},
            "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                           "name": snapshot["metadata"]["name"]},
        },
    }


def _source_claim(client: KubeClient, namespace: str, snapshot: JSON) -> JSON | None:
    name = (snapshot["spec"].get("source") or {}).get("persistentVolumeClaimName")
    return client.find(core("persistentvolumeclaims", namespace, name)) if name else None


def _storage_class(client: KubeClient, name: str | None, driver: str, source: JSON | None) -> JSON:
    """The named class (checked against the driver), else the source claim's, else the default one."""
    classes = {c["metadata"]["name"]: c for c in client.list(storage("storageclasses"))}
    mine = sorted(n for n, c in classes.items() if c.get("provisioner") == driver)
    hint = (f"StorageClasses for driver {driver}: {', '.join(mine)}." if mine
            else f"No StorageClass provisions for driver {driver}; create one.")
    if name:
        if name not in classes:
            raise NotFoundError(f"StorageClass {name} does not exist.", hint=hint)
        if classes[name].get("provisioner") != driver:
            raise UsageError(f"StorageClass {name} provisions for {classes[name].get('provisioner')}, but the "
                             f"snapshot belongs to driver {driver}.", hint=hint)
        return classes[name]
    source_class = ((source or {}).get("spec") or {}).get("storageClassName")
    if source_class in mine:
        return classes[source_class]
    defaults = [n for n in mine if (classes[n]["metadata"].get("annotations") or {}).get(DEFAULT_STORAGE_CLASS)
                == "true"]
    if defaults or len(mine) == 1:
        return classes[(defaults or mine)[0]]
    raise UsageError(f"Cannot choose a StorageClass for driver {driver}.", hint=f"Pass --storage-class. {hint}")


def _wait_bound(client: KubeClient, namespace: str, name: str, timeout: float) -> JSON:
    try:
        return wait_for(client, core("persistentvolumeclaims", namespace, name), lambda c: c is None or is_bound(c),
                        time.monotonic() + timeout, f"claim {namespace}/{name}", interval=_POLL) \
            or client.get(core("persistentvolumeclaims", namespace, name))  # gone meanwhile: the 404 says so
    except NotReadyError:
        warnings = [e.get("message", "") for e in events_for(client, namespace, name) if e.get("type") == "Warning"]
        raise SnapshotError(
            f"PersistentVolumeClaim {namespace}/{name} was not bound within {timeout:g}s"
            + (f": {warnings[-1]}" if warnings else "") + ".",
            hint=f"See `kubectl describe pvc {name} -n {namespace}`; the claim is kept.",
        ) from None


def _quantity(value: Any) -> int:
    if value in (None, ""):
        return 0
    try:
        return parse_quantity(value)
    except ValueError:
        return 0
