"""Re-create one backed-up volume as the source of a new claim, by the record's ``method``.

``restore create`` and ``statefulset recover`` both come here, so a volume comes back the
same way whichever command asks; the method (volumes/registry.py) decides how:

- ``csi-snapshot``: a VolumeSnapshot bound to the backed-up snapshot handle, which the
  claim names as its data source; the driver provisions the claim from it;
- a cloud-disk method (``aws-ebs``, ``gce-pd``): a new disk from the snapshot and a PV bound in advance
  to the claim, which names it as its volume;
- ``fs``: the claim is provisioned empty; once it is bound, the files are restored from the
  location's repository into it, before any workload starts.

Every check that can refuse (cloud region, zone, type and credentials; the repository
password; the repository data the ``fs`` volumes need, repo/preflight.py) is in
:meth:`VolumeRestorer.check`, which the engines run before any change.
"""

from __future__ import annotations

from collections.abc import Iterable

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.client import KubeClient
from salvage.locations.config import LocationSpec
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.mover import MoverSettings
from salvage.model.progress import quiet
from salvage.storage.base import Store
from salvage.volumes.method import JSON, ClaimSource, MethodContext, Progress, VolumeCaptureError
from salvage.volumes.registry import Methods, is_registered


def has_volume_data(record: VolumeRecord) -> bool:
    return is_registered(record.get("method")) and not record.get("error")


class VolumeRestorer:
    """Turns volume records of one backup into claim sources, for one restore or recovery
    (``owner`` names the temporary objects it makes)."""

    def __init__(self, client: KubeClient, store: Store, *, owner: str, repo_password: str | None = None,
                 aws: AwsSettings | None = None, gce: GceSettings | None = None,
                 azure: AzureSettings | None = None, verify_data: bool = False,
                 location: LocationSpec | None = None, mover: MoverSettings | None = None,
                 progress: Progress = quiet, check_digests: bool = False) -> None:
        """``verify_data``: :meth:`check` also reads every pack of the ``fs`` volumes' data whole
        and checks it against its name (else only sizes; flipped bytes surface while filling).
        ``location`` and ``mover``: how ``fs`` volumes are filled by data-mover pods.
        ``check_digests``: read each filled volume back against its recorded tree digest."""
        self.owner = owner
        self.methods = Methods(MethodContext(client, store, repo_password, aws or AwsSettings(), progress,
                                             gce=gce or GceSettings(), azure=azure or AzureSettings(),
                                             verify_data=verify_data, location=location,
                                             mover=mover or MoverSettings(), check_digests=check_digests))

    def check(self, records: Iterable[VolumeRecord], *, dry_run: bool = False) -> None:
        """Refuse, before any change, what :meth:`prepare` could not do for these records; a
        dry run does not read the backed-up data itself."""
        by_method: dict[str, list[VolumeRecord]] = {}
        for record in records:
            _check_has_data(record)
            by_method.setdefault(record["method"], []).append(record)
        methods = [self.methods[name] for name in by_method]
        # The cheap checks (credentials, regions) first, then those that read data.
        for method in sorted(methods, key=lambda m: m.check_reads_data):
            if not (dry_run and method.check_reads_data):
                method.check_restore(by_method[method.name])

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, timeout: float) -> ClaimSource:
        """The source of ``claim`` (the body about to be created in ``namespace``)."""
        _check_has_data(record)
        return self.methods[record["method"]].prepare(record, claim, namespace, owner=self.owner, timeout=timeout)

    def describe(self, record: VolumeRecord) -> str:
        """Where a record's data comes from, for plans."""
        return self.methods[record["method"]].describe(record)


def _check_has_data(record: VolumeRecord) -> None:
    if not has_volume_data(record):
        raise VolumeCaptureError(
            f"The volume of {record.get('namespace')}/{record.get('pvc')} has no data in the backup "
            f"(method {record.get('method')!r}{': ' + record['error'] if record.get('error') else ''}).",
            hint="Recover from a backup taken with volume snapshots.")
