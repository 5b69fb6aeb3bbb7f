"""``--snapshot-move-data``: a claim's data moved into the location's repository from a fresh
CSI snapshot, so the application is held only for the snapshot and the backup outlives the
storage system (restore to any StorageClass, any cluster).

Per claim: a VolumeSnapshot (the ``csi-snapshot`` method's capture), a temporary claim made
from it, a data-mover pod copying that claim's files (the ``fs`` method, recorded under the
original claim), then the temporary claim and the snapshot (with its data) are released,
whatever happened. The record is an ordinary ``fs`` record: a restore needs no snapshot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from salvage.model.mover import MoverSettings
from salvage.volumes import csi_snapshots, fs
from salvage.volumes.method import ClaimSource
from salvage.volumes.mover.manifests import ANNOTATION_CLAIM, ANNOTATION_EXPIRES, LABEL_RUN, LABEL_TEMPORARY
from salvage.volumes.registry import Methods

JSON = dict[str, Any]


def move_snapshot_data(client: KubeClient, methods: Methods, claim: JSON, pv: JSON, backup: str, *,
                       timeout: float, mover: MoverSettings,
                       hold: Callable[[], AbstractContextManager[None]] = nullcontext) -> VolumeRecord:
    """``hold`` wraps the snapshot only (the application's hooks), not the copy."""
    with hold():
        snapshot = methods[csi_snapshots.METHOD].capture(claim, pv, backup, timeout=timeout)
    if snapshot.get("method") != csi_snapshots.METHOD:
        return snapshot  # `none`, with the reason (no CSI driver, no snapshot class)
    meta = claim["metadata"]
    temporary = _temporary_claim(claim, backup, mover)
    path = core("persistentvolumeclaims", meta["namespace"])
    source: ClaimSource | None = None
    try:
        source = methods[csi_snapshots.METHOD].prepare(snapshot, temporary, meta["namespace"],
                                                       owner=f"move-{backup}", timeout=timeout)
        source.shape(temporary["spec"])
        client.create(path, temporary)
        mover_method = methods[fs.METHOD]
        assert isinstance(mover_method, fs.FsMethod)
        return mover_method.capture_through(temporary["metadata"]["name"], claim, pv, backup)
    finally:
        _quietly(lambda: client.delete_if_present(f"{path}/{temporary['metadata']['name']}"))
        if source is not None:
            _quietly(source.release)
        # The snapshot was only the way to a consistent copy: its data goes now.
        _quietly(lambda: methods[csi_snapshots.METHOD].delete_captured(snapshot))


def _temporary_claim(claim: JSON, backup: str, mover: MoverSettings) -> JSON:
    meta, spec = claim["metadata"], claim["spec"]
    digest = hashlib.sha256(f"{backup}/{meta['namespace']}/{meta['name']}".encode()).hexdigest()[:10]
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=mover.start_timeout + mover.run_timeout + 60)
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": f"salvage-move-{digest}",
            "labels": {LABEL_TEMPORARY: "true", LABEL_RUN: f"move-{digest}"},
            "annotations": {ANNOTATION_EXPIRES: expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            ANNOTATION_CLAIM: f"{meta['namespace']}/{meta['name']}"},
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": spec.get("storageClassName"),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "resources": {"requests": dict(spec.get("resources", {}).get("requests") or {})},
        },
    }


def _quietly(step: Any) -> None:
    try:
        step()
    except KubernetesError:
        pass  # the temporary objects carry labels and an expiry: a later run's sweep removes them
