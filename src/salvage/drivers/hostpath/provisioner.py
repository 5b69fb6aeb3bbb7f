"""Dynamic provisioning and reclaiming of hostpath volumes (external-provisioner's part)."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salvage.drivers.hostpath import names
from salvage.drivers.hostpath.disk import Disk
from salvage.drivers.hostpath.world import Obj, World
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import has_condition
from salvage.k8s.events import record_event
from salvage.k8s.quantity import format_bytes, parse_quantity

log = logging.getLogger("salvage.hostpath.provisioner")


class Wait(Exception):
    """The claim cannot be provisioned yet (not an error): try again on a later pass."""


class Refuse(Exception):
    """The claim can never be provisioned as asked; the message tells the user why."""


@dataclass
class Provisioner:
    client: KubeClient
    disk: Disk
    _told: dict[str, str]

    @classmethod
    def create(cls, client: KubeClient, disk: Disk) -> Provisioner:
        return cls(client, disk, {})

    def sync(self, world: World) -> None:
        for claim in world.claims.values():
            if self._wants_volume(claim, world):
                self._guarded("PersistentVolumeClaim", claim, lambda c=claim: self._provision(c, world))
        for pv in world.volumes.values():
            if _is_ours(pv):
                self._guarded("PersistentVolume", pv, lambda v=pv: self._reclaim(v, world))

    # -- provisioning ------------------------------------------------------------------------
    def _wants_volume(self, claim: Obj, world: World) -> bool:
        spec, meta = claim.get("spec", {}), claim["metadata"]
        if spec.get("volumeName") or meta.get("deletionTimestamp"):
            return False
        sc = world.storage_classes.get(spec.get("storageClassName") or "")
        return bool(sc and sc.get("provisioner") == names.DRIVER)

    def _provision(self, claim: Obj, world: World) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        volume_id = f"pvc-{meta['uid']}"
        if volume_id in world.volumes:
            return
        sc = world.storage_classes[spec["storageClassName"]]
        node = self._node_for(claim, sc, world)
        requested = parse_quantity(spec.get("resources", {}).get("requests", {}).get("storage", "0"))
        source = self._data_source(claim, requested, world)
        path = self.disk.create_volume(volume_id, source)
        pv = _volume_manifest(volume_id, claim, sc, node, path, requested)
        self.client.create_if_absent("/api/v1/persistentvolumes", pv)
        origin = f" from {_describe(_source_ref(claim))}" if source else ""
        log.info("provisioned %s for %s/%s on %s%s", volume_id, meta["namespace"], meta["name"], node, origin)
        self._tell("PersistentVolumeClaim", claim, "ProvisioningSucceeded",
                   f"Successfully provisioned volume {volume_id} on node {node}{origin}", warning=False)

    def _node_for(self, claim: Obj, sc: Obj, world: World) -> str:
        selected = claim["metadata"].get("annotations", {}).get(names.SELECTED_NODE)
        if selected:
            return str(selected)
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            raise Wait("waiting for a pod to be scheduled (WaitForFirstConsumer)")
        # A volume bound at once goes where a pod without tolerations can use it: beside a
        # real node, the kwok nodes are tainted, and the volume belongs on the real one, also
        # while that node is briefly not Ready (a busy machine): it waits for it rather than
        # landing on a tainted node no ordinary pod can reach.
        candidates = [n for n in world.nodes if not _placement_taints(n)] or list(world.nodes)
        ready = sorted(n["metadata"]["name"] for n in candidates if has_condition(n, "Ready"))
        if not ready:
            names_ = ", ".join(sorted(n["metadata"]["name"] for n in candidates)) or "none"
            raise Wait(f"no Ready node to place the volume on (waiting for: {names_})")
        # Stable choice per claim, spread over nodes.
        return ready[zlib.crc32(claim["metadata"]["uid"].encode()) % len(ready)]

    def _data_source(self, claim: Obj, requested: int, world: World) -> Path | None:
        ref = _source_ref(claim)
        if not ref:
            return None
        namespace = ref.get("namespace") or claim["metadata"]["namespace"]
        kind, name = ref.get("kind"), ref.get("name")
        if kind == "VolumeSnapshot" and ref.get("apiGroup") == names.SNAPSHOT_GROUP:
            return self._snapshot_source(namespace, name, requested, world)
        if kind == "PersistentVolumeClaim" and not ref.get("apiGroup"):
            return self._clone_source(namespace, name, requested, world)
        raise Refuse(f"data source {kind} {name} is not supported by {names.DRIVER}; "
                     "use a VolumeSnapshot or a PersistentVolumeClaim")

    def _snapshot_source(self, namespace: str, name: str, requested: int, world: World) -> Path:
        snapshot = world.snapshots.get((namespace, name))
        if snapshot is None:
            raise Wait(f"VolumeSnapshot {namespace}/{name} does not exist (yet)")
        status = snapshot.get("status") or {}
        if not status.get("readyToUse"):
            raise Wait(f"VolumeSnapshot {namespace}/{name} is not ready to use yet")
        content = world.contents.get(status.get("boundVolumeSnapshotContentName") or "")
        if content is None:
            raise Wait(f"the content of VolumeSnapshot {namespace}/{name} is not bound yet")
        if content["spec"].get("driver") != names.DRIVER:
            raise Refuse(f"VolumeSnapshot {namespace}/{name} belongs to driver {content['spec'].get('driver')}, "
                         f"not {names.DRIVER}; restore it with a StorageClass of that driver")
        restore_size = int((content.get("status") or {}).get("restoreSize") or 0)
        if requested < restore_size:
            raise Refuse(f"requested size {format_bytes(requested)} is smaller than the restore size "
                         f"{format_bytes(restore_size)} of VolumeSnapshot {namespace}/{name}; "
                         f"request at least {format_bytes(restore_size)}")
        path = self.disk.snapshot(str(content["status"]["snapshotHandle"]))
        if not path.is_dir():
            raise Refuse(f"the data of VolumeSnapshot {namespace}/{name} ({path}) is missing on disk")
        return path

    def _clone_source(self, namespace: str, name: str, requested: int, world: World) -> Path:
        source = world.claims.get((namespace, name))
        if source is None:
            raise Wait(f"source PersistentVolumeClaim {namespace}/{name} does not exist (yet)")
        pv = world.volumes.get(source.get("spec", {}).get("volumeName") or "")
        if pv is None or source.get("status", {}).get("phase") != "Bound":
            raise Wait(f"source PersistentVolumeClaim {namespace}/{name} is not bound yet")
        csi = pv["spec"].get("csi") or {}
        if csi.get("driver") != names.DRIVER:
            raise Refuse(f"source PersistentVolumeClaim {namespace}/{name} is not a {names.DRIVER} volume")
        size = parse_quantity(pv["spec"]["capacity"]["storage"])
        if requested < size:
            raise Refuse(f"requested size {format_bytes(requested)} is smaller than the source volume's "
                         f"{format_bytes(size)}; request at least {format_bytes(size)}")
        return self.disk.volume(csi["volumeHandle"])

    # -- reclaiming ---------------------------------------------------------------------------
    def _reclaim(self, pv: Obj, world: World) -> None:
        meta, spec = pv["metadata"], pv["spec"]
        phase = pv.get("status", {}).get("phase")
        policy = spec.get("persistentVolumeReclaimPolicy", "Delete")
        released = phase in {"Released", "Failed"}
        if meta.get("deletionTimestamp"):
            if phase == "Bound":
                return  # still in use: pv-protection holds it, and so do we
            if policy == "Delete":
                self.disk.remove(self.disk.volume(spec["csi"]["volumeHandle"]))
            self._drop_finalizer(pv)
            return
        if released and policy == "Delete":
            self.disk.remove(self.disk.volume(spec["csi"]["volumeHandle"]))
            log.info("deleted released volume %s", meta["name"])
            self.client.delete_if_present(f"/api/v1/persistentvolumes/{meta['name']}")

    def _drop_finalizer(self, pv: Obj) -> None:
        finalizers = pv["metadata"].get("finalizers") or []
        if names.VOLUME_FINALIZER not in finalizers:
            return
        remaining = [f for f in finalizers if f != names.VOLUME_FINALIZER]
        self.client.patch(f"/api/v1/persistentvolumes/{pv['metadata']['name']}", [
            {"op": "test", "path": "/metadata/resourceVersion", "value": pv["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/metadata/finalizers", "value": remaining},
        ], merge=False)

    # -- reporting ----------------------------------------------------------------------------
    def _guarded(self, kind: str, obj: Obj, action: Any) -> None:
        try:
            action()
        except Wait as exc:
            self._tell(kind, obj, "WaitingForVolume", str(exc), warning=False)
        except Refuse as exc:
            self._tell(kind, obj, "ProvisioningFailed", str(exc), warning=True)
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop the others
            log.exception("reconciling %s %s failed", kind, obj["metadata"].get("name"))
            self._tell(kind, obj, "ProvisioningFailed" if kind == "PersistentVolumeClaim" else "VolumeFailed",
                       str(exc), warning=True)

    def _tell(self, kind: str, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        """One event per distinct message per object, so a waiting claim does not flood events."""
        uid = obj["metadata"]["uid"]
        if self._told.get(uid) == message:
            return
        self._told[uid] = message
        record_event(self.client, {"apiVersion": "v1", "kind": kind, **obj}, reason=reason, message=message,
                     type_="Warning" if warning else "Normal", component=names.DRIVER)


def _volume_manifest(volume_id: str, claim: Obj, sc: Obj, node: str, path: Path, size: int) -> Obj:
    meta, spec = claim["metadata"], claim["spec"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_id,
            "annotations": {names.PROVISIONED_BY: names.DRIVER},
            "finalizers": [names.VOLUME_FINALIZER],
        },
        "spec": {
            "capacity": {"storage": format_bytes(size)},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
            "storageClassName": sc["metadata"]["name"],
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            },
            "csi": {
                "driver": names.DRIVER,
                "volumeHandle": volume_id,
                "volumeAttributes": {"path": str(path), "node": node},
            },
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": names.HOSTNAME_LABEL, "operator": "In", "values": [node]},
            ]}]}},
        },
    }


def _placement_taints(node: Obj) -> list[Obj]:
    """The taints that keep ordinary pods off a node for good (kwok's), not the ones the node
    lifecycle controller puts on a node while it is not Ready (``node.kubernetes.io/...``)."""
    return [t for t in _schedule_taints(node) if not str(t.get("key", "")).startswith("node.kubernetes.io/")]


def _schedule_taints(node: Obj) -> list[Obj]:
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") in ("NoSchedule", "NoExecute")]


def _source_ref(claim: Obj) -> dict[str, Any]:
    spec = claim.get("spec", {})
    return dict(spec.get("dataSourceRef") or spec.get("dataSource") or {})


def _describe(ref: dict[str, Any]) -> str:
    return f"{ref.get('kind')} {ref.get('name')}"


def _is_ours(pv: Obj) -> bool:
    return (pv.get("spec", {}).get("csi") or {}).get("driver") == names.DRIVER
