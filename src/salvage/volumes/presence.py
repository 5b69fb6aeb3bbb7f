"""Whether the data behind a PersistentVolume still exists: the proof recovery needs before
it removes a dangling PV or PVC (it never removes one whose data exists).

Only a driver that can be asked answers present or gone: the hostpath driver (its directory),
AWS EBS (DescribeVolumes on the volume id, in the PV's region), GCE PD (disks.get in the
disk's project and zone) and Azure Disk (disks.get by its ID). Any other volume, or a cloud
disk when its API cannot be asked, is unknown, and recovery then replaces it only when the
user says ``--force``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from salvage.drivers.hostpath.names import DRIVER as HOSTPATH_DRIVER
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.volumes.aws_ebs_spec import is_ebs
from salvage.volumes.azure_disk_spec import is_azure_disk
from salvage.volumes.gce_pd_spec import is_gce_pd


class Presence(str, Enum):
    PRESENT = "present"
    GONE = "gone"
    UNKNOWN = "unknown"


def volume_presence(pv: dict[str, Any], aws: AwsSettings | None = None,
                    gce: GceSettings | None = None, azure: AzureSettings | None = None) -> Presence:
    csi = pv.get("spec", {}).get("csi") or {}
    if csi.get("driver") == HOSTPATH_DRIVER:
        # The hostpath driver keeps each volume in the directory its PV names; the local
        # cluster runs on this machine, so the directory can be looked at directly.
        path = (csi.get("volumeAttributes") or {}).get("path")
        if path:
            return Presence.PRESENT if Path(path).is_dir() else Presence.GONE
    if is_ebs(pv):
        from salvage.volumes.aws_ebs import EbsProvider  # boto3 only when a PV is on EBS

        return Presence(EbsProvider(aws or AwsSettings()).presence(pv))
    if is_gce_pd(pv):
        from salvage.volumes.gce_pd import GcePdProvider  # google-cloud-compute only when a PV is a GCE PD

        return Presence(GcePdProvider(gce or GceSettings()).presence(pv))
    if is_azure_disk(pv):
        from salvage.volumes.azure_disk import AzureDiskProvider  # the Azure SDK only when a PV is an Azure disk

        return Presence(AzureDiskProvider(azure or AzureSettings()).presence(pv))
    return Presence.UNKNOWN
