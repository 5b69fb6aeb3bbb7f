"""Whether the data behind a PersistentVolume still exists: the proof recovery needs before
it removes a dangling PV or PVC (it never removes one whose data exists).

Only a driver that can be asked answers present or gone; any other volume is unknown, and
recovery then replaces it only when the user says ``--force``. Cloud providers (EBS:
DescribeVolumes on the volume id) slot in beside the hostpath check.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from salvage.drivers.hostpath.names import DRIVER as HOSTPATH_DRIVER


class Presence(str, Enum):
    PRESENT = "present"
    GONE = "gone"
    UNKNOWN = "unknown"


def volume_presence(pv: dict[str, Any]) -> Presence:
    csi = pv.get("spec", {}).get("csi") or {}
    if csi.get("driver") == HOSTPATH_DRIVER:
        # The hostpath driver keeps each volume in the directory its PV names; the local
        # cluster runs on this machine, so the directory can be looked at directly.
        path = (csi.get("volumeAttributes") or {}).get("path")
        if path:
            return Presence.PRESENT if Path(path).is_dir() else Presence.GONE
    return Presence.UNKNOWN
