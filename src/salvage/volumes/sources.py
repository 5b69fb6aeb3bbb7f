"""Re-create one backed-up volume as the source of a new claim, by the record's ``method``.

``restore create`` and ``statefulset recover`` both come here, so a volume comes back the
same way whichever command asks:

- ``csi-snapshot``: a VolumeSnapshot bound to the backed-up snapshot handle, which the
  claim names as its data source; the driver provisions the claim from it;
- a cloud-disk method (``aws-ebs``): a new disk from the snapshot and a PV bound in advance
  to the claim, which names it as its volume;
- ``fs``: the claim is provisioned empty; once it is bound, the files are restored from the
  location's repository into it, before any workload starts.

Every check that can refuse (cloud region, zone, type and credentials; the repository
password; the repository data the ``fs`` volumes need, repo/preflight.py) is in
:meth:`VolumeRestorer.check`, which the engines run before any change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from salvage.catalog.records import VolumeRecord
from salvage.k8s.client import KubeClient
from salvage.k8s.quantity import format_bytes, parse_quantity
from salvage.model.cloud import AwsSettings
from salvage.model.errors import KubernetesError
from salvage.repo.preflight import check_restorable
from salvage.repo.repository import Repository
from salvage.repo.restore import xattr_summary
from salvage.storage.base import Store
from salvage.volumes import csi_snapshots, fs, providers
from salvage.volumes.base import JSON, Progress
from salvage.volumes.csi_snapshots import VolumeCaptureError

METHODS = ("csi-snapshot", "fs", *providers.CLOUD_METHODS)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ClaimSource:
    """How a new claim gets its data; :meth:`shape` points the claim at it."""

    data_source: JSON | None = None
    volume_name: str | None = None
    restore_size: int = 0
    # fs: writes the files into the new volume, given its bound PV, and returns warnings
    # (e.g. extended attributes the target refused); None: nothing to fill.
    fill: Callable[[JSON], list[str]] | None = None
    # Removes temporary objects once the claim is bound; the backed-up data stays.
    release: Callable[[], None] = _nothing

    def shape(self, spec: JSON) -> None:
        """Set a claim's spec (before it is created) to take its data from this source."""
        for key in ("volumeName", "dataSource", "dataSourceRef"):
            spec.pop(key, None)
        if self.data_source:
            spec["dataSource"] = dict(self.data_source)
            spec["dataSourceRef"] = dict(self.data_source)
        if self.volume_name:
            spec["volumeName"] = self.volume_name
            # The pre-bound PV has this class; an absent one would get the default class.
            spec["storageClassName"] = spec.get("storageClassName") or ""
        at_least(spec, self.restore_size)


def at_least(spec: JSON, size: int) -> None:
    """Raise a claim's storage request to ``size``: a claim smaller than its source cannot be
    provisioned from it."""
    requests = spec.setdefault("resources", {}).setdefault("requests", {})
    if size and parse_quantity(requests.get("storage", "0")) < size:
        requests["storage"] = format_bytes(size)


def has_volume_data(record: VolumeRecord) -> bool:
    return record.get("method") in METHODS and not record.get("error")


def describe(record: VolumeRecord) -> str:
    """Where a record's data comes from, for plans."""
    if record.get("method") == "fs":
        return f"files from repository snapshot {str(record.get('snapshotHandle'))[:8]}"
    return f"volume from snapshot {record.get('snapshotHandle')}"


class VolumeRestorer:
    """Turns volume records of one backup into claim sources, for one restore or recovery
    (``owner`` names the temporary objects it makes)."""

    def __init__(self, client: KubeClient, store: Store, *, owner: str, repo_password: str | None = None,
                 aws: AwsSettings | None = None, verify_data: bool = False,
                 progress: Progress = lambda _k, _d: None) -> None:
        """``verify_data``: :meth:`check` also reads every pack of the ``fs`` volumes' data whole
        and checks it against its name (else only sizes; flipped bytes surface while filling)."""
        self.client, self.store, self.owner, self.progress = client, store, owner, progress
        self.repo_password, self.verify_data = repo_password, verify_data
        self.cloud = providers.CloudProviders(aws or AwsSettings())
        self._repository: Repository | None = None

    def check(self, records: Iterable[VolumeRecord]) -> None:
        """Refuse, before any change, what :meth:`prepare` could not do for these records."""
        files: dict[str, str] = {}
        for record in records:
            _check_has_data(record)
            if record["method"] in providers.CLOUD_METHODS:
                self.cloud[record["method"]].check_recreate(record)
            elif record["method"] == "fs":
                files[str(record["snapshotHandle"])] = f"volume {record.get('namespace')}/{record.get('pvc')}"
        if files:
            what = "reading every pack of" if self.verify_data else "checking"
            self.progress("phase", {"message": f"{what} the repository data of {len(files)} volume(s)"})
            check_restorable(self.repository(), files, read_data=self.verify_data, on_pack=self._pack_read)

    def _pack_read(self, number: int, total: int) -> None:
        if self.verify_data and (number == total or number % max(1, total // 10) == 0):  # ~10 lines at most
            self.progress("phase", {"message": f"verified {number} of {total} packs"})

    def repository(self) -> Repository:
        if self._repository is None:
            self._repository = fs.repository(self.store, self.repo_password, create=False, read_only=True)
        return self._repository

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, timeout: float) -> ClaimSource:
        """The source of ``claim`` (the body about to be created in ``namespace``)."""
        _check_has_data(record)
        method = record["method"]
        if method == "csi-snapshot":
            return self._csi_snapshot(record, namespace, timeout)
        if method == "fs":
            return ClaimSource(restore_size=int(record.get("restoreSize") or 0),
                               fill=lambda pv: self._fill(record, pv))
        return self._cloud_disk(record, claim, namespace, timeout)

    def _csi_snapshot(self, record: VolumeRecord, namespace: str, timeout: float) -> ClaimSource:
        snapshot, content = csi_snapshots.prepare_restore(self.client, record, namespace, self.owner, timeout=timeout)
        return ClaimSource(
            data_source={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot},
            restore_size=int(record.get("restoreSize") or 0),
            release=lambda: csi_snapshots.release_restore(self.client, namespace, snapshot, content),
        )

    def _fill(self, record: VolumeRecord, pv: JSON) -> list[str]:
        target = fs.local_path(pv)
        if target is None:
            raise VolumeCaptureError(
                f"The new volume of {record.get('namespace')}/{record.get('pvc')} (PV {pv['metadata']['name']}) "
                "is not reachable from here to restore its files (needs a data-mover pod).",
                hint="Restore file-level backups onto the local cluster's hostpath driver for now.")
        filled = fs.fill(self.repository(), record, target)
        if not filled.xattr_failures:
            return []
        return [f"volume {record.get('namespace')}/{record.get('pvc')}: "
                f"{xattr_summary(filled.xattr_failures, filled.xattr_failed_files)}: "
                + "; ".join(filled.xattrs_not_restored[:5])]

    def _cloud_disk(self, record: VolumeRecord, claim: JSON, namespace: str, timeout: float) -> ClaimSource:
        """A new disk from the snapshot and a PV bound in advance to the claim, which keeps its
        name, so a StatefulSet adopts it (seed 000's hand-written PV and PVC)."""
        provider = self.cloud[record["method"]]
        name = claim["metadata"]["name"]
        pv_name = record["pv"]
        if self.client.exists(f"/api/v1/persistentvolumes/{pv_name}"):  # e.g. the original, still in use
            pv_name = f"salvage-{hashlib.sha256(f'{self.owner}/{namespace}/{name}'.encode()).hexdigest()[:20]}"
        spec = provider.recreate(record, timeout=timeout, progress=self.progress)
        spec["storageClassName"] = claim["spec"].get("storageClassName") or ""
        labels = {"restore.salvage.io/name": self.owner}
        try:
            self.client.create("/api/v1/persistentvolumes",
                               providers.pre_bound_volume(pv_name, spec, namespace, name, labels))
        except KubernetesError:
            provider.discard(spec, record)
            raise
        return ClaimSource(volume_name=pv_name)


def _check_has_data(record: VolumeRecord) -> None:
    if not has_volume_data(record):
        raise VolumeCaptureError(
            f"The volume of {record.get('namespace')}/{record.get('pvc')} has no data in the backup "
            f"(method {record.get('method')!r}{': ' + record['error'] if record.get('error') else ''}).",
            hint="Recover from a backup taken with volume snapshots.")
