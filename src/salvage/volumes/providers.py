"""Which provider captures a PV's volume, and which one re-creates a record's volume.

Engines (backup, restore, statefulset recover) come here with a record's ``method`` or a
user's choice; cloud SDKs are imported only when a cloud provider is really used.
"""

from __future__ import annotations

from salvage.model.cloud import AwsSettings
from salvage.model.errors import UsageError
from salvage.volumes.aws_ebs_spec import is_ebs
from salvage.volumes.base import JSON, VolumeProvider

CHOICES = ("auto", "csi", "aws-ebs")
CLOUD_METHODS = ("aws-ebs",)  # records re-created as a new disk plus a pre-bound PV


def check_choice(choice: str) -> None:
    if choice not in CHOICES:
        raise UsageError(f"Volume snapshot provider {choice!r} is not one of {', '.join(CHOICES)}.",
                         hint="Use --volume-snapshot-provider auto (EBS disks through EC2, the rest through CSI).")


def method_for(pv: JSON, choice: str) -> str:
    """The record method a PV's volume gets under the user's ``choice``: ``auto`` snapshots
    EBS disks through EC2 (their CSI driver may have no snapshot class, and in-tree ones
    have no CSI at all) and everything else through CSI; an explicit choice is kept, and
    the provider says why when it does not fit."""
    if choice == "auto":
        return "aws-ebs" if is_ebs(pv) else "csi-snapshot"
    return "csi-snapshot" if choice == "csi" else choice


def cloud_provider(method: str, aws: AwsSettings) -> VolumeProvider:
    """The provider for a cloud-disk record ``method`` (GCE PD and Azure Disk join here)."""
    if method == "aws-ebs":
        from salvage.volumes.aws_ebs import (
            EbsProvider,  # boto3 loads only when EBS is used
        )

        return EbsProvider(aws)
    raise UsageError(f"Volume method {method!r} has no cloud provider.", hint=f"Known: {', '.join(CLOUD_METHODS)}.")


def pre_bound_volume(name: str, spec: JSON, namespace: str, claim: str, labels: dict[str, str]) -> JSON:
    """A PV for ``recreate``'s spec, bound in advance to claim ``namespace/claim``: only that
    claim can take it, and a StatefulSet adopts the claim by its name."""
    ref = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace, "name": claim}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels},
            "spec": {**spec, "claimRef": ref}}


class CloudProviders:
    """One provider per cloud-disk method, made on first use (a provider holds SDK clients)."""

    def __init__(self, aws: AwsSettings) -> None:
        self.aws = aws
        self._made: dict[str, VolumeProvider] = {}

    def __getitem__(self, method: str) -> VolumeProvider:
        if method not in self._made:
            self._made[method] = cloud_provider(method, self.aws)
        return self._made[method]
