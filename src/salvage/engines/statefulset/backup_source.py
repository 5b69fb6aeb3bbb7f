"""A backup as recover's source: its StatefulSet, Service and volume records.

The backup's namespace may differ from the one recovered into: objects and volume records
are looked up under ``namespace`` (the backup's), and recover creates them in its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from salvage.catalog.reader import BackupReader
from salvage.catalog.backup_records import VolumeRecord
from salvage.engines.statefulset.naming import claim_ordinal, claim_templates
from salvage.engines.statefulset.source import JSON, ClaimVolume, NoVolumeDataError
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import NotFoundError
from salvage.model.progress import Progress, Step, quiet
from salvage.volumes.method import ClaimSource
from salvage.volumes.sources import VolumeRestorer, has_volume_data



class BackupSource:
    def __init__(self, client: KubeClient, location: Location, backup: str, namespace: str, statefulset: str, *,
                 repo_password: str | None = None, aws: AwsSettings | None = None, gce: GceSettings | None = None,
                 azure: AzureSettings | None = None, verify_data: bool = False,
                 progress: Progress = quiet) -> None:
        """StatefulSet ``namespace/statefulset`` as the backup has it. Verifies the backup;
        ``verify_data``: :meth:`check` reads every pack its fs volumes need (volumes/sources.py)."""
        self.backup, self.namespace, self.name = backup, namespace, statefulset
        self.description = f"backup {backup!r}"
        self.reader = BackupReader(location.store, backup)
        progress(Step(f"verifying backup {backup}"))
        self.reader.verify()
        # The owner names the temporary snapshot objects: per backup, so a leftover from
        # another recovery never matches.
        self.restorer = VolumeRestorer(client, location.store, owner=f"recover-{backup}",
                                       repo_password=repo_password, aws=aws, gce=gce, azure=azure,
                                       verify_data=verify_data, location=location.spec,
                                       progress=progress)
        self.records: dict[str, VolumeRecord] = {}

    def statefulset(self, manifest: JSON | None) -> JSON:
        found: list[str] = []
        elsewhere: list[str] = []
        for obj in self._objects("apps", "statefulsets", any_namespace=True):
            meta = obj["metadata"]
            if meta.get("namespace") != self.namespace:
                elsewhere += [meta.get("namespace", "")] if meta["name"] == self.name else []
            elif meta["name"] == self.name:
                return manifest or obj
            else:
                found.append(meta["name"])
        if elsewhere:
            others = f"It has StatefulSet {self.name} in namespace {elsewhere[0]}: to recover it into this one, " \
                     f"pass --backup-namespace {elsewhere[0]}."
        else:
            others = f"It has: {', '.join(sorted(found))}." if found else \
                f"It has no StatefulSet in namespace {self.namespace}."
        raise NotFoundError(
            f"Backup {self.backup!r} has no StatefulSet {self.namespace}/{self.name}; nothing was changed.",
            hint=f"{others} Run `salvage backup describe {self.backup}` to see what it holds.")

    def service(self, name: str) -> JSON | None:
        return next((obj for obj in self._objects("", "services") if obj["metadata"]["name"] == name), None)

    def volumes(self, statefulset: JSON, ordinals: tuple[int, ...]) -> dict[str, ClaimVolume]:
        name = statefulset["metadata"]["name"]
        templates = claim_templates(statefulset)
        out: dict[str, ClaimVolume] = {}
        for record in self.reader.volumes():
            if record.get("namespace") != self.namespace or not has_volume_data(record):
                continue
            for template in templates:
                ordinal = claim_ordinal(record["pvc"], template, name)
                if ordinal is not None and ordinal in ordinals:
                    self.records[record["pvc"]] = record
                    out[record["pvc"]] = ClaimVolume(record["pvc"], ordinal, self.restorer.describe(record))
        if not out:
            raise NoVolumeDataError(
                f"Backup {self.backup!r} has no volume data for StatefulSet {self.namespace}/{name}; "
                "nothing was changed.",
                hint="It was taken without volume snapshots, or they failed (see `salvage backup describe "
                     f"{self.backup}`). Recover from a backup with volume snapshots.")
        return out

    def check(self, volumes: Iterable[ClaimVolume]) -> None:
        self.restorer.check(self.records[v.claim] for v in volumes)

    def prepare(self, volume: ClaimVolume, claim: JSON, namespace: str, *, timeout: float) -> ClaimSource:
        return self.restorer.prepare(self.records[volume.claim], claim, namespace, timeout=timeout)

    def _objects(self, group: str, resource: str, *, any_namespace: bool = False) -> Iterable[JSON]:
        for entry in self.reader.resources():
            if (entry["group"], entry["resource"]) == (group, resource):
                yield from (o for o in self.reader.items(entry)
                            if any_namespace or o["metadata"].get("namespace") == self.namespace)
