"""The volume method of every cloud-disk provider (volumes/base.py): a disk snapshot through
the cloud's API on backup; on restore a new disk from it and a PV bound in advance to the
claim, which keeps its name, so a StatefulSet adopts it (seed 000's hand-written PV and PVC)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from salvage.catalog.backup_records import VolumeRecord
from salvage.k8s.api_groups import core
from salvage.model.errors import KubernetesError
from salvage.volumes.base import VolumeProvider
from salvage.volumes.method import JSON, ClaimSource, MethodContext, from_snapshot


class CloudDiskMethod:
    """A :class:`salvage.volumes.method.VolumeMethod` over one cloud-disk provider."""

    check_reads_data = False

    def __init__(self, context: MethodContext, provider: VolumeProvider) -> None:
        self.context, self.provider = context, provider
        self.name = provider.method

    def check_capture(self) -> None:
        self.provider.check_access()

    def capture(self, claim: JSON, pv: JSON, backup: str, *, timeout: float) -> VolumeRecord:
        return self.provider.capture(claim, pv, backup, timeout=timeout, progress=self.context.progress)

    def check_restore(self, records: Sequence[VolumeRecord]) -> None:
        for record in records:
            self.provider.check_recreate(record)

    def prepare(self, record: VolumeRecord, claim: JSON, namespace: str, *, owner: str,
                timeout: float) -> ClaimSource:
        client = self.context.kube()
        name = claim["metadata"]["name"]
        pv_name = record["pv"]
        if client.exists(core("persistentvolumes", None, pv_name)):  # e.g. the original, still in use
            pv_name = f"salvage-{hashlib.sha256(f'{owner}/{namespace}/{name}'.encode()).hexdigest()[:20]}"
        spec = self.provider.recreate(record, timeout=timeout, progress=self.context.progress)
        spec["storageClassName"] = claim["spec"].get("storageClassName") or ""
        labels = {"restore.salvage.io/name": owner}
        try:
            client.create(core("persistentvolumes"), pre_bound_volume(pv_name, spec, namespace, name, labels))
        except KubernetesError:
            self.provider.discard(spec, record)
            raise
        return ClaimSource(volume_name=pv_name)

    def delete_captured(self, record: VolumeRecord) -> bool:
        return self.provider.delete_captured(record)

    def describe(self, record: VolumeRecord) -> str:
        return from_snapshot(record)


def pre_bound_volume(name: str, spec: JSON, namespace: str, claim: str, labels: dict[str, str]) -> JSON:
    """A PV for ``recreate``'s spec, bound in advance to claim ``namespace/claim``: only that
    claim can take it, and a StatefulSet adopts the claim by its name."""
    ref = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace, "name": claim}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels},
            "spec": {**spec, "claimRef": ref}}
