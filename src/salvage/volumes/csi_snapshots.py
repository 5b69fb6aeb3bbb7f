"""Volume capture for backups through the CSI snapshot API (any driver with a class).

Backup: a VolumeSnapshot of the claim; once ready its content is switched to Retain and the
VolumeSnapshot deleted, so the snapshot outlives the namespace (seed 001 deletes it) and
belongs to the backup alone. Restore: a pre-provisioned content naming the snapshot
handle, a VolumeSnapshot bound to it in the target namespace, and the claim takes that
snapshot as its data source. This is the flow Velero's CSI plugin uses.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.api_groups import snapshots
from salvage.k8s.client import KubeClient
from salvage.k8s.waits import wait_for
from salvage.model.errors import KubernetesError, NotFoundError, NotReadyError, SnapshotError, UsageError
from salvage.volumes.method import (
    JSON,
    ClaimSource,
    MethodContext,
    VolumeCaptureError,
    claim_record,
    from_snapshot,
)

DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
BACKUP_LABEL = "backup.salvage.io/name"

METHOD = "csi-snapshot"


class CsiSnapshotMethod:
    """The ``csi-snapshot`` volume method (:class:`salvage.volumes.method.VolumeMethod`)."""

    name = METHOD
    check_reads_data = False

    def __init__(self, context: MethodContext) -> None:
        self.context = context

    def check_capture(self) -> None:
        return None  # a volume without a snapshot class is recorded as `none`, with the reason

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        return capture(self.context.kube(), claim, pv, backup, timeout=timeout)

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        return None  # the snapshot handle is the driver's to check when the claim is provisioned

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        client = self.context.kube()
        snapshot, content = prepare_restore(client, record, namespace, owner, timeout=timeout)
        return ClaimSource(
            data_source={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot},
            restore_size=int(record.get("restoreSize") or 0),
            release=lambda: release_restore(client, namespace, snapshot, content),
        )

    def delete_captured(self, record: VolumeRecord) -> bool:
        if self.context.client is None:
            return False  # without a cluster its snapshots cannot be reached
        return delete_captured(self.context.client, record)

    def describe(self, record: VolumeRecord) -> str:
        return from_snapshot(record)


def default_class(classes: Iterable[JSON], driver: str) -> JSON:
    """The one rule for a driver's VolumeSnapshotClass when none is named, for backups and
    ``snapshot create`` alike: the class marked default, else the driver's only class.
    Several defaults, or several classes and no default, is refused, not guessed: classes
    differ in deletion policy and parameters."""
    mine = [c for c in classes if c.get("driver") == driver]
    defaults = [c for c in mine if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    if len(defaults) == 1 or (not defaults and len(mine) == 1):
        return (defaults or mine)[0]
    if not mine:
        raise SnapshotError(f"No VolumeSnapshotClass exists for driver {driver}.",
                            hint=f"Create one with `driver: {driver}`.")
    names = ", ".join(sorted(c["metadata"]["name"] for c in defaults or mine))
    raise UsageError(f"Driver {driver} has {len(defaults) or len(mine)} candidate VolumeSnapshotClasses and no "
                     "single default.",
                     hint=f"VolumeSnapshotClasses for driver {driver}: {names}; mark one as the default "
                          f"(annotation {DEFAULT_CLASS_ANNOTATION}: \"true\").")


def capture(client: KubeClient, claim: dict[str, Any], pv: dict[str, Any], backup: str,
            *, timeout: float) -> VolumeRecord:
    """Snapshot one bound claim for ``backup``; the record says how to re-create it."""
    meta = claim["metadata"]
    record = claim_record(claim, pv)
    driver = (pv["spec"].get("csi") or {}).get("driver")
    if not driver:
        record.update(method="none", error="the volume is not a CSI volume; it has no snapshot API")
        return record
    try:
        snapshot_class = default_class(client.list(snapshots("volumesnapshotclasses")), driver)["metadata"]["name"]
    except (SnapshotError, UsageError) as exc:
        record.update(method="none", driver=driver, error=f"{exc.message} {exc.hint}")
        return record
    name = _name(backup, meta["name"])
    vs_path = snapshots("volumesnapshots", meta["namespace"])
    client.create(vs_path, {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name, "labels": {BACKUP_LABEL: backup}},
        "spec": {"volumeSnapshotClassName": snapshot_class, "source": {"persistentVolumeClaimName": meta["name"]}},
    })
    snapshot = _wait_ready(client, f"{vs_path}/{name}", timeout)
    content_name = snapshot["status"]["boundVolumeSnapshotContentName"]
    content = client.get(snapshots("volumesnapshotcontents", None, content_name))
    client.patch(snapshots("volumesnapshotcontents", None, content_name), {"spec": {"deletionPolicy": "Retain"}})
    client.delete(f"{vs_path}/{name}")
    record.update(
        method=METHOD, driver=driver, snapshotHandle=content["status"]["snapshotHandle"],
        restoreSize=int(content["status"].get("restoreSize") or 0),
        volumeSnapshotClass=snapshot_class, volumeSnapshotContent=content_name,
    )
    return record


def prepare_restore(client: KubeClient, record: VolumeRecord, namespace: str, restore: str,
                    *, timeout: float) -> tuple[str, str]:
    """A VolumeSnapshot in ``namespace`` holding the backed-up data; returns (snapshot, content)."""
    name = _name(restore, record["pvc"])
    content_name = f"salvage-{hashlib.sha256(f'{namespace}/{name}'.encode()).hexdigest()[:20]}"
    client.create_if_absent(snapshots("volumesnapshotcontents"), {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
        "metadata": {"name": content_name, "labels": {"restore.salvage.io/name": restore}},
        "spec": {
            # Retain: the snapshot belongs to the backup; deleting this object must not delete it.
            "deletionPolicy": "Retain", "driver": record["driver"],
            "source": {"snapshotHandle": record["snapshotHandle"]},
            "volumeSnapshotClassName": record.get("volumeSnapshotClass"),
            "volumeSnapshotRef": {"namespace": namespace, "name": name},
        },
    })
    vs_path = snapshots("volumesnapshots", namespace)
    client.create_if_absent(vs_path, {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name, "labels": {"restore.salvage.io/name": restore}},
        "spec": {"source": {"volumeSnapshotContentName": content_name}},
    })
    _wait_ready(client, f"{vs_path}/{name}", timeout)
    return name, content_name


def release_restore(client: KubeClient, namespace: str, snapshot: str, content: str) -> None:
    """Remove the restore's temporary snapshot objects (the data stays: the content is Retain)."""
    for path in (snapshots("volumesnapshots", namespace, snapshot), snapshots("volumesnapshotcontents", None, content)):
        client.delete_if_present(path)


def delete_captured(client: KubeClient, record: VolumeRecord) -> bool:
    """Delete a backup's snapshot: its content becomes Delete, so the driver removes the data."""
    content = record.get("volumeSnapshotContent")
    if record.get("method") != METHOD or not content:
        return False
    path = snapshots("volumesnapshotcontents", None, content)
    try:
        client.patch(path, {"spec": {"deletionPolicy": "Delete"}})
        client.delete(path)
    except KubernetesError as exc:
        if exc.status != 404:
            raise
        return False
    return True


def is_ready(snapshot: dict[str, Any]) -> bool:
    return bool((snapshot.get("status") or {}).get("readyToUse"))


def snapshot_error(snapshot: dict[str, Any]) -> str:
    """The driver's or controller's error on a VolumeSnapshot (empty when none)."""
    return str(((snapshot.get("status") or {}).get("error") or {}).get("message") or "")


def wait_snapshot(client: KubeClient, path: str, done: Callable[[dict[str, Any]], bool], timeout: float, *,
                  interval: float = 0.25) -> dict[str, Any] | None:
    """The VolumeSnapshot at ``path`` once ``done`` says so (watched, k8s/waits.py); None when
    ``timeout`` passes first. A snapshot deleted meanwhile raises NotFoundError."""
    try:
        found = wait_for(client, path, lambda s: s is None or done(s), time.monotonic() + timeout,
                         f"VolumeSnapshot {path.rsplit('/', 1)[1]}", interval=interval)
    except NotReadyError:
        return None
    if found is None:
        namespace, name = path.split("/namespaces/", 1)[1].split("/volumesnapshots/")
        raise NotFoundError(f"VolumeSnapshot {namespace}/{name} was deleted while it was waited for.",
                            hint=f"See who removes it: `kubectl get events -n {namespace}`.")
    return found


def _wait_ready(client: KubeClient, path: str, timeout: float) -> dict[str, Any]:
    snapshot = wait_snapshot(client, path, is_ready, timeout)
    if snapshot is not None:
        return snapshot
    last = client.get(path)
    raise VolumeCaptureError(
        f"VolumeSnapshot {last['metadata']['namespace']}/{last['metadata']['name']} "
        f"was not ready within {timeout:.0f}s: {snapshot_error(last) or 'no error was reported'}.",
        hint="Check the snapshot driver (`kubectl describe volumesnapshot`), or raise --snapshot-timeout.")


def _name(owner: str, claim: str) -> str:
    digest = hashlib.sha256(f"{owner}/{claim}".encode()).hexdigest()[:8]
    return f"{claim[:40]}-{owner[:12]}-{digest}".lower().strip("-.")
