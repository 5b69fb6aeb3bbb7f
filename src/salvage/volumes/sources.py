"""Re-create one backed-up volume as the source of a new claim, by the record's ``method``.

A CSI snapshot becomes a VolumeSnapshot the claim names as its data source. A provider
that re-creates a disk instead (a cloud volume from its snapshot) returns the name of a
PV it made for the claim; the caller handles both the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salvage.catalog.records import VolumeRecord
from salvage.k8s.client import KubeClient
from salvage.volumes import csi_snapshots
from salvage.volumes.csi_snapshots import VolumeCaptureError


@dataclass(frozen=True)
class ClaimSource:
    data_source: dict[str, Any] | None = None
    volume_name: str | None = None
    restore_size: int = 0
    # Removes temporary objects once the claim is bound; the backed-up data stays.
    release: Callable[[], None] = field(default=lambda: None)


def has_volume_data(record: VolumeRecord) -> bool:
    return record.get("method") in _PROVIDERS and not record.get("error")


def prepare_claim_source(client: KubeClient, record: VolumeRecord, namespace: str, owner: str,
                         *, timeout: float) -> ClaimSource:
    provider = _PROVIDERS.get(record.get("method") or "none")
    if provider is None or record.get("error"):
        raise VolumeCaptureError(
            f"The volume of {record.get('namespace')}/{record.get('pvc')} has no data in the backup "
            f"(method {record.get('method')!r}{': ' + record['error'] if record.get('error') else ''}).",
            hint="Recover from a backup taken with volume snapshots.")
    return provider(client, record, namespace, owner, timeout)


def _csi_snapshot(client: KubeClient, record: VolumeRecord, namespace: str, owner: str,
                  timeout: float) -> ClaimSource:
    snapshot, content = csi_snapshots.prepare_restore(client, record, namespace, owner, timeout=timeout)
    return ClaimSource(
        data_source={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot},
        restore_size=int(record.get("restoreSize") or 0),
        release=lambda: csi_snapshots.release_restore(client, namespace, snapshot, content),
    )


_PROVIDERS: dict[str, Callable[[KubeClient, VolumeRecord, str, str, float], ClaimSource]] = {
    "csi-snapshot": _csi_snapshot,
}
