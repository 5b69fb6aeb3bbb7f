"""Point-in-time copies of hostpath volumes for VolumeSnapshotContents of this driver.

This is the part the csi-snapshotter sidecar plays beside the upstream snapshot-controller:
the controller creates and binds VolumeSnapshotContents and puts a finalizer on them; we
take the copy, fill the content's status, and — when the controller marks a content as
being deleted — remove the copy (deletionPolicy Delete) and then the finalizer.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from salvage.drivers.hostpath import names
from salvage.drivers.hostpath.disk import Disk
from salvage.drivers.hostpath.world import SNAPSHOTS, Obj, World
from salvage.k8s.client import KubeClient
from salvage.k8s.quantity import parse_quantity

log = logging.getLogger("salvage.hostpath.snapshotter")


class SnapshotFailed(Exception):
    """The snapshot cannot be taken; the message goes into the content's status.error."""


@dataclass
class Snapshotter:
    client: KubeClient
    disk: Disk

    def sync(self, world: World) -> None:
        for content in world.contents.values():
            if content.get("spec", {}).get("driver") != names.DRIVER:
                continue
            try:
                self._sync_content(content, world)
            except SnapshotFailed as exc:
                self._set_error(content, str(exc))
            except Exception:  # noqa: BLE001 - one bad object must not stop the others
                log.exception("reconciling VolumeSnapshotContent %s failed", content["metadata"]["name"])

    def _sync_content(self, content: Obj, world: World) -> None:
        meta, spec = content["metadata"], content["spec"]
        status = content.get("status") or {}
        if _should_delete(content):
            if spec.get("deletionPolicy") == "Delete" and status.get("snapshotHandle"):
                self.disk.remove(self.disk.snapshot(status["snapshotHandle"]))
                self.disk.remove_meta(status["snapshotHandle"])
                log.info("deleted snapshot %s of content %s", status["snapshotHandle"], meta["name"])
            self._drop_finalizer(content)
            return
        if meta.get("deletionTimestamp"):
            return
        source = spec.get("source", {})
        if source.get("volumeHandle") and not status.get("snapshotHandle"):
            self._take(content, source["volumeHandle"], world)
        elif source.get("snapshotHandle") and not status.get("readyToUse"):
            self._import(content, source["snapshotHandle"])

    def _take(self, content: Obj, volume_handle: str, world: World) -> None:
        pv = world.volume_by_handle(names.DRIVER, volume_handle)
        volume_dir = self.disk.volume(volume_handle)
        if pv is None or not volume_dir.is_dir():
            raise SnapshotFailed(f"source volume {volume_handle} does not exist on {names.DRIVER}")
        snapshot_id = f"snapshot-{content['metadata']['uid']}"
        if not self.disk.snapshot(snapshot_id).exists():
            # The moment of the copy is the snapshot's time; recorded before copying so a
            # restart that redoes the copy records the later time again.
            self.disk.write_meta(snapshot_id, {
                "creationTime": time.time_ns(),
                "restoreSize": parse_quantity(pv["spec"]["capacity"]["storage"]),
                "sourceVolume": volume_handle,
            })
            self.disk.create_snapshot(snapshot_id, volume_dir)
        meta = self.disk.read_meta(snapshot_id)
        self._set_ready(content, snapshot_id, meta)
        log.info("snapshot %s of %s ready for content %s", snapshot_id, volume_handle, content["metadata"]["name"])

    def _import(self, content: Obj, snapshot_id: str) -> None:
        """A pre-provisioned content names an existing snapshot: check it and report it."""
        if not self.disk.snapshot(snapshot_id).is_dir():
            raise SnapshotFailed(f"snapshot {snapshot_id} does not exist under {self.disk.snapshots}")
        self._set_ready(content, snapshot_id, self.disk.read_meta(snapshot_id))

    def _set_ready(self, content: Obj, snapshot_id: str, meta: dict[str, Any]) -> None:
        status = {
            "snapshotHandle": snapshot_id,
            "readyToUse": True,
            "creationTime": int(meta.get("creationTime") or time.time_ns()),
            "error": None,
        }
        if meta.get("restoreSize"):
            status["restoreSize"] = int(meta["restoreSize"])
        self.client.patch(f"{SNAPSHOTS}/volumesnapshotcontents/{content['metadata']['name']}/status",
                          {"status": status})

    def _set_error(self, content: Obj, message: str) -> None:
        current = ((content.get("status") or {}).get("error") or {}).get("message")
        if current == message:
            return
        log.warning("content %s: %s", content["metadata"]["name"], message)
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.client.patch(f"{SNAPSHOTS}/volumesnapshotcontents/{content['metadata']['name']}/status",
                          {"status": {"readyToUse": False, "error": {"message": message, "time": now}}})

    def _drop_finalizer(self, content: Obj) -> None:
        finalizers = content["metadata"].get("finalizers") or []
        if names.CONTENT_FINALIZER not in finalizers:
            return
        self.client.patch(f"{SNAPSHOTS}/volumesnapshotcontents/{content['metadata']['name']}", [
            {"op": "test", "path": "/metadata/resourceVersion", "value": content["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/metadata/finalizers",
             "value": [f for f in finalizers if f != names.CONTENT_FINALIZER]},
        ], merge=False)


def _should_delete(content: Obj) -> bool:
    """The sidecar's rule: deleted, and either marked by the controller or an unbound import."""
    meta, spec = content["metadata"], content["spec"]
    if not meta.get("deletionTimestamp"):
        return False
    if spec.get("source", {}).get("snapshotHandle") and not spec.get("volumeSnapshotRef", {}).get("uid"):
        return True
    annotations = meta.get("annotations") or {}
    if names.BEING_CREATED in annotations:
        return False
    return names.BEING_DELETED in annotations

