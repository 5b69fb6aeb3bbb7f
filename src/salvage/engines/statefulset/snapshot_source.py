"""VolumeSnapshots already in the namespace as recover's source (``--from-snapshots`` and
``--snapshot-selector``). The StatefulSet is the user's manifest or the live one; the
snapshots are only read (a claim takes one as its data source; it is never deleted)."""

from __future__ import annotations

from collections.abc import Iterable

from salvage.engines.statefulset import workload_state as kube
from salvage.engines.statefulset.manifests import snapshot_source
from salvage.engines.statefulset.naming import claim_templates
from salvage.engines.statefulset.snapshot_choice import (
    claim_ordinal_of,
    newest_ready_per_claim,
    parse_snapshot_list,
    snapshot_claim,
)
from salvage.engines.statefulset.source import JSON, ClaimVolume, NoVolumeDataError
from salvage.k8s import api_groups
from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError, UsageError
from salvage.volumes.csi_snapshots import is_ready, snapshot_error
from salvage.volumes.method import ClaimSource, VolumeCaptureError


class SnapshotSource:
    def __init__(self, client: KubeClient, namespace: str, statefulset: str, *,
                 snapshots: str | None = None, selector: str | None = None) -> None:
        """Exactly one of ``snapshots`` (the ``--from-snapshots`` text) and ``selector``."""
        if (snapshots is None) == (selector is None):
            raise ValueError("pass exactly one of snapshots and selector")
        self.client, self.namespace, self.name = client, namespace, statefulset
        self.snapshots, self.selector = snapshots, selector
        self.description = f"VolumeSnapshots labelled {selector}" if selector else "the VolumeSnapshots given"
        self.chosen: dict[str, JSON] = {}

    def statefulset(self, manifest: JSON | None) -> JSON:
        if manifest is not None:
            return manifest
        live = self.client.find(kube.statefulset_path(self.namespace, self.name))
        if live is None:
            raise UsageError(f"StatefulSet {self.namespace}/{self.name} does not exist, and recovering from "
                             "snapshots needs its manifest; nothing was changed.",
                             hint="Pass your StatefulSet manifest with --manifest FILE.")
        return live

    def service(self, name: str) -> JSON | None:
        return None  # snapshots hold no objects

    def volumes(self, statefulset: JSON, ordinals: tuple[int, ...]) -> dict[str, ClaimVolume]:
        templates = claim_templates(statefulset)
        if self.snapshots is not None:
            named = parse_snapshot_list(self.snapshots, templates, self.name, ordinals)
            self.chosen = {claim: self._ready(snapshot, claim) for claim, snapshot in named.items()}
        else:
            found = self._selected()
            self.chosen = newest_ready_per_claim(found, templates, self.name, ordinals)
            if not self.chosen:
                raise self._none_usable(found, templates, ordinals)
        return {claim: ClaimVolume(claim, claim_ordinal_of(claim, templates, self.name) or 0,
                                   f"VolumeSnapshot {snapshot['metadata']['name']}")
                for claim, snapshot in self.chosen.items()}

    def check(self, volumes: Iterable[ClaimVolume]) -> None:
        return None  # every snapshot was found ready by ``volumes``

    def prepare(self, volume: ClaimVolume, claim: JSON, namespace: str, *, timeout: float) -> ClaimSource:
        snapshot = self.chosen[volume.claim]
        return ClaimSource(data_source=snapshot_source(snapshot["metadata"]["name"]),
                           restore_size=kube.restore_size(snapshot))

    def _ready(self, name: str, claim: str) -> JSON:
        snapshot = kube.volume_snapshot(self.client, self.namespace, name)
        if not is_ready(snapshot):
            raise VolumeCaptureError(
                f"VolumeSnapshot {self.namespace}/{name} (for claim {claim}) is not ready to use: "
                f"{snapshot_error(snapshot) or 'no error reported yet'}; nothing was changed.",
                hint=f"Look with `kubectl describe volumesnapshot {name} -n {self.namespace}`, or name another.")
        return snapshot

    def _selected(self) -> list[JSON]:
        path = api_groups.snapshots("volumesnapshots", self.namespace)
        try:
            found = list(self.client.list(path, labelSelector=self.selector))
        except KubernetesError as exc:
            if exc.status != 400:
                raise
            raise UsageError(f"--snapshot-selector {self.selector!r} is not a label selector: {exc.message}",
                             hint="Write it as kubectl does, e.g. app=web,tier!=cache.") from exc
        if not found:
            raise NoVolumeDataError(
                f"No VolumeSnapshot in namespace {self.namespace} is labelled {self.selector}; nothing was changed.",
                hint=f"List them with `kubectl get volumesnapshots -n {self.namespace} --show-labels`.")
        return found

    def _none_usable(self, found: list[JSON], templates: list[str], ordinals: tuple[int, ...]) -> NoVolumeDataError:
        ours = [s for s in found if claim_ordinal_of(snapshot_claim(s) or "", templates, self.name) in ordinals]
        unready = "; ".join(f"{s['metadata']['name']} is not ready ({snapshot_error(s) or 'no error reported'})"
                            for s in ours if not is_ready(s))
        expected = ", ".join(f"{t}-{self.name}-<ordinal>" for t in templates)
        return NoVolumeDataError(
            f"None of the {len(found)} VolumeSnapshot(s) labelled {self.selector} in namespace {self.namespace} "
            f"is a ready snapshot of a claim of StatefulSet {self.name} ({expected})"
            + (f": {unready}" if unready else "") + "; nothing was changed.",
            hint="A snapshot belongs to the claim in its spec.source.persistentVolumeClaimName; "
                 f"look with `kubectl get volumesnapshots -n {self.namespace} -l {self.selector}`.")
