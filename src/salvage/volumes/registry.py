"""Volume methods by name: the one place that knows which exist, and which one a volume gets.

A method registers its name with a factory that makes it for one :class:`MethodContext`;
engines then reach it through :class:`Methods` by a record's ``method``, or by the user's
choice. Adding a method is one module implementing :class:`~salvage.volumes.method.VolumeMethod`
plus one :func:`register` call (here for Salvage's own; tests register theirs).

Which method a volume gets when backed up: ``postgresql`` when the pod mounting it (or its
StatefulSet) is annotated ``backup.salvage.io/database: postgresql`` (volumes/postgres.py:
logical dumps instead of the volume); else ``fs`` when the claim or its StorageClass says
so (``backup.salvage.io/method: fs``, volumes/fs.py) or ``--default-volumes-to-fs-backup``;
else the ``--volume-snapshot-provider`` the user names (``csi``, ``aws-ebs``, ``gce-pd``,
``azure-disk``), and under ``auto`` the first method that claims the PV (EBS disks go
through EC2, GCE PDs through GCE compute and Azure managed disks through ARM: their CSI
driver may have no snapshot class, and in-tree ones have no CSI at all), else ``csi-snapshot``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from salvage.model.errors import UsageError
from salvage.k8s.client import KubeClient
from salvage.volumes import csi_snapshots, fs, postgres
from salvage.volumes.aws_ebs_spec import METHOD as AWS_EBS
from salvage.volumes.aws_ebs_spec import is_ebs
from salvage.volumes.azure_disk_spec import METHOD as AZURE_DISK
from salvage.volumes.azure_disk_spec import is_azure_disk
from salvage.volumes.cloud_disks import CloudDiskMethod
from salvage.volumes.gce_pd_spec import METHOD as GCE_PD
from salvage.volumes.gce_pd_spec import is_gce_pd
from salvage.volumes.method import JSON, MethodContext, VolumeMethod

AUTO = "auto"
FALLBACK = csi_snapshots.METHOD  # under `auto`, a PV no method claims: the CSI snapshot API


@dataclass(frozen=True)
class Registration:
    name: str
    make: Callable[[MethodContext], VolumeMethod]
    choice: str | None = None  # the --volume-snapshot-provider value that picks it
    claims: Callable[[JSON], bool] | None = None  # under `auto`, the PVs it takes


_registered: dict[str, Registration] = {}


def register(name: str, make: Callable[[MethodContext], VolumeMethod], *, choice: str | None = None,
             claims: Callable[[JSON], bool] | None = None) -> None:
    if name in _registered or name == "none":
        raise ValueError(f"volume method {name!r} is registered already")
    _registered[name] = Registration(name, make, choice, claims)


def unregister(name: str) -> None:
    del _registered[name]


def is_registered(name: object) -> bool:
    return name in _registered


def choices() -> tuple[str, ...]:
    return (AUTO, *(r.choice for r in _registered.values() if r.choice))


def check_choice(choice: str) -> None:
    if choice not in choices():
        raise UsageError(f"Volume snapshot provider {choice!r} is not one of {', '.join(choices())}.",
                         hint="Use --volume-snapshot-provider auto (EBS disks through EC2, the rest through CSI).")


def chosen(choice: str) -> str:
    """The method an explicit ``--volume-snapshot-provider`` names."""
    return next(r.name for r in _registered.values() if r.choice == choice)


def method_for(pv: JSON, choice: str) -> str:
    """The method a snapshot of ``pv`` gets under the user's ``choice``: an explicit choice
    is kept (the method says why when it does not fit); ``auto`` asks each method."""
    if choice != AUTO:
        return chosen(choice)
    return next((r.name for r in _registered.values() if r.claims and r.claims(pv)), FALLBACK)


def capture_method(kind: str, pv: JSON, choice: str) -> str:
    """The method for a volume whose claim asks for ``kind`` (``fs`` or ``snapshot``,
    :func:`salvage.volumes.fs.choose_method`; ``database``, :func:`holds_database`)."""
    if kind == "database":
        return postgres.METHOD
    return fs.METHOD if kind == "fs" else method_for(pv, choice)


def holds_database(client: KubeClient, claim: JSON, pods: list[JSON]) -> bool:
    """Whether a pod among ``pods`` (the claim's namespace's) mounting the claim is an
    annotated database, by its own annotations or its StatefulSet's."""
    return any(postgres.is_database(postgres.annotations_of(pod, postgres.owner_of(client, pod)))
               for pod in postgres.pods_mounting(pods, claim["metadata"]["name"]))


class Methods:
    """The registered methods, each made for ``context`` on first use (a method may hold SDK
    clients or an open repository)."""

    def __init__(self, context: MethodContext) -> None:
        self.context = context
        self._made: dict[str, VolumeMethod] = {}

    def __getitem__(self, name: str) -> VolumeMethod:
        if name not in self._made:
            registration = _registered.get(name)
            if registration is None:
                raise UsageError(f"Volume method {name!r} is not known to this Salvage.",
                                 hint=f"Known: {', '.join(_registered)}. A newer Salvage may have written it.")
            self._made[name] = registration.make(self.context)
        return self._made[name]


def _aws_ebs(context: MethodContext) -> VolumeMethod:
    from salvage.volumes.aws_ebs import EbsProvider  # boto3 loads only when EBS is used

    return CloudDiskMethod(context, EbsProvider(context.aws))


def _gce_pd(context: MethodContext) -> VolumeMethod:
    from salvage.volumes.gce_pd import GcePdProvider  # google-cloud-compute loads only when GCE PD is used

    return CloudDiskMethod(context, GcePdProvider(context.gce))


def _azure_disk(context: MethodContext) -> VolumeMethod:
    from salvage.volumes.azure_disk import AzureDiskProvider  # the Azure SDK loads only when Azure Disk is used

    return CloudDiskMethod(context, AzureDiskProvider(context.azure))


register(csi_snapshots.METHOD, csi_snapshots.CsiSnapshotMethod, choice="csi")
register(AWS_EBS, _aws_ebs, choice="aws-ebs", claims=is_ebs)
register(GCE_PD, _gce_pd, choice="gce-pd", claims=is_gce_pd)
register(AZURE_DISK, _azure_disk, choice="azure-disk", claims=is_azure_disk)
register(fs.METHOD, fs.FsMethod)
register(postgres.METHOD, postgres.PostgresMethod)
