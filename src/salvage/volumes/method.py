"""The one interface every volume method implements, and what a method hands back.

A volume method is a way a claim's data is captured into a backup and re-created from it:
``csi-snapshot``, ``aws-ebs``, ``gce-pd`` and ``fs`` today (volumes/registry.py names them). Engines
never ask which method a record has; they look it up in a :class:`~salvage.volumes.registry.Methods`
and call it. Rules every method keeps:

- ``check_capture`` and ``check_restore`` only read: a bad region, missing credentials, a
  missing repository password or damaged repository data is raised there, before any change;
- ``capture`` returns a :class:`VolumeRecord` whose ``method`` is the method's name, or
  ``none`` with an ``error`` when the volume cannot be captured this way (the backup goes on);
- ``prepare`` returns the :class:`ClaimSource` of a new claim; the claim keeps its name, so a
  StatefulSet adopts it, and what ``prepare`` creates is named after ``owner``; its
  ``after_ready`` (if any) runs once the restored workloads are Ready;
- ``delete_captured`` removes what ``capture`` made, and says False when it was gone already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.client import KubeClient
from salvage.k8s.quantity import format_bytes, parse_quantity
from salvage.locations.config import LocationSpec
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import SalvageError
from salvage.model.mover import MoverSettings
from salvage.model.progress import Progress, quiet
from salvage.storage.base import Store

JSON = dict[str, Any]


class VolumeCaptureError(SalvageError):
    """A volume could not be captured or re-created."""


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class MethodContext:
    """What a method may use, for one backup, restore, recovery or deletion."""

    client: KubeClient | None  # None: no cluster (deleting a backup without one)
    store: Store | None = None  # the location's store; ``fs`` keeps its repository in it
    repo_password: str | None = field(default=None, repr=False)
    aws: AwsSettings = field(default_factory=AwsSettings)
    progress: Progress = quiet
    gce: GceSettings = field(default_factory=GceSettings)
    azure: AzureSettings = field(default_factory=AzureSettings)
    # Restores: read every pack of the data whole before the first change (``fs``).
    verify_data: bool = False
    # Backups: make the location's repository on first use (restores only read it).
    create_repository: bool = False
    # ``fs`` on a cluster: the location as data-mover pods reach it, and how they are made.
    location: LocationSpec | None = None
    mover: MoverSettings = field(default_factory=MoverSettings)
    # Restores: read each filled volume back and compare its tree digest with the record's
    # ``treeDigest`` (repo/digest.py); the outcome is a ``volume-digest`` progress event.
    check_digests: bool = False

    def kube(self) -> KubeClient:
        if self.client is None:
            raise VolumeCaptureError("This needs a cluster, and none was given.",
                                     hint="Pass --kubeconfig or --context.")
        return self.client


@dataclass(frozen=True)
class ClaimSource:
    """How a new claim gets its data; :meth:`shape` points the claim at it."""

    data_source: JSON | None = None
    volume_name: str | None = None
    restore_size: int = 0
    # Writes the data into the new volume, given its bound PV, and returns warnings (e.g.
    # extended attributes the target refused); None: the volume is provisioned with it.
    fill: Callable[[JSON], list[str]] | None = None
    # Removes temporary objects once the claim is bound; the backed-up data stays.
    release: Callable[[], None] = _nothing
    # Runs once the restored workloads are Ready (a database method loads its dumps into the
    # server that now runs on the claim); returns what it did, for the report. None: nothing.
    after_ready: Callable[[], str] | None = None

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


# A claim carries this annotation from its creation until its files are all restored
# (methods with a ``fill``): a run that stops or is killed mid-fill leaves it, so the next
# run knows the claim holds only part of its data, and which data (the record's snapshot).
FILLING = "restore.salvage.io/filling"


def mark_filling(claim: JSON, source: str) -> None:
    """Annotate a claim body, before it is created, as being filled from ``source`` (what
    the data is: :func:`filling_value` of its record, or a recovery's origin)."""
    claim.setdefault("metadata", {}).setdefault("annotations", {})[FILLING] = source


def filling_value(record: VolumeRecord) -> str:
    """The data a volume record fills a claim with: its method and snapshot."""
    return f"{record.get('method')}:{record.get('snapshotHandle')}"


def half_filled(claim: JSON) -> str | None:
    """What a claim was being filled from when its run stopped (None: not left half-filled)."""
    return ((claim.get("metadata") or {}).get("annotations") or {}).get(FILLING)


def fill_finished(client: KubeClient, claim_path: str) -> None:
    """Every file is in the claim: the annotation goes."""
    client.patch(claim_path, {"metadata": {"annotations": {FILLING: None}}})


def at_least(spec: JSON, size: int) -> None:
    """Raise a claim's storage request to ``size``: a claim smaller than its source cannot be
    provisioned from it."""
    requests = spec.setdefault("resources", {}).setdefault("requests", {})
    if size and parse_quantity(requests.get("storage", "0")) < size:
        requests["storage"] = format_bytes(size)


def claim_record(claim: JSON, pv: JSON) -> VolumeRecord:
    """The part of a volume record every method writes: which claim and PV, class and size."""
    meta = claim["metadata"]
    return {
        "namespace": meta["namespace"], "pvc": meta["name"], "pv": pv["metadata"]["name"],
        "storageClass": claim["spec"].get("storageClassName"),
        "size": claim["spec"].get("resources", {}).get("requests", {}).get("storage", ""),
    }


def from_snapshot(record: VolumeRecord) -> str:
    """How a plan describes a record whose data is a snapshot."""
    return f"volume from snapshot {record.get('snapshotHandle')}"


class VolumeMethod(Protocol):
    name: str  # the volume record's ``method``
    # True when ``check_restore`` reads the backed-up data itself (a dry run skips that).
    check_reads_data: bool

    def check_capture(self) -> None:
        """Raise when a backup could not capture any volume this way (credentials, password)."""

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        """Capture the volume of ``pv`` (bound to ``claim``) for ``backup``; wait until done."""

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        """Raise if ``prepare`` or the fill could not succeed for these records; reads only."""

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        """The source of ``claim`` (the body about to be created in ``namespace``)."""

    def delete_captured(self, record: VolumeRecord) -> bool:
        """Delete what ``capture`` made for this record; False when it was already gone."""

    def describe(self, record: VolumeRecord) -> str:
        """Where the record's data comes from, for plans."""
