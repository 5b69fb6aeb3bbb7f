"""The restore engine: verify a backup, plan, re-create volumes and objects, report each item."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from salvage.catalog.reader import BackupReader
from salvage.catalog.records import ResourceEntry, VolumeRecord
from salvage.engines.ordering import rank
from salvage.engines.sanitize import sanitize, skip_reason
from salvage.engines.selection import Selection, label_selector_matches
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import has_condition
from salvage.k8s.discovery import ApiResource
from salvage.k8s.quantity import format_bytes, parse_quantity
from salvage.locations import Location
from salvage.model.cloud import AwsSettings
from salvage.model.errors import KubernetesError, SalvageError, UsageError
from salvage.repo.repository import Repository
from salvage.repo.restore import xattr_summary
from salvage.volumes import csi_snapshots, fs, providers

Progress = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class RestoreRequest:
    name: str
    backup: str
    selection: Selection = field(default_factory=Selection)
    selector: str | None = None
    namespace_map: dict[str, str] = field(default_factory=dict)
    class_map: dict[str, str] = field(default_factory=dict)
    existing_policy: str = "none"  # none | update
    dry_run: bool = False
    wait: bool = True
    timeout: float = 300.0
    workers: int = 16
    repo_password: str | None = field(default=None, repr=False)
    aws: AwsSettings = field(default_factory=AwsSettings)  # for aws-ebs volume records


@dataclass(frozen=True)
class ItemResult:
    resource: str
    namespace: str | None
    name: str
    action: str  # created | updated | skipped | failed | planned
    reason: str = ""


@dataclass
class RestoreReport:
    """The outcome of a restore. Per-item results go to the caller's ``on_item`` as they
    happen, so memory stays flat however many objects a backup holds; only counts and
    failures are kept here."""

    name: str
    backup: str
    location: str
    phase: str
    dry_run: bool
    started: str
    completed: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[ItemResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, item: ItemResult) -> None:
        self.counts[item.action] = self.counts.get(item.action, 0) + 1
        if item.action == "failed":
            self.failures.append(item)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Step:
    entry: ResourceEntry
    resource: ApiResource
    custom: bool


def restore_backup(client: KubeClient, location: Location, request: RestoreRequest,
                   progress: Progress = lambda _k, _d: None,
                   on_item: Callable[[ItemResult], None] = lambda _i: None) -> RestoreReport:
    if request.existing_policy not in ("none", "update"):
        raise UsageError("--existing-resource-policy must be none or update.")
    reader = BackupReader(location.store, request.backup)
    progress("phase", {"message": f"verifying {len(reader.manifest['files'])} objects of backup {request.backup}"})
    reader.verify()  # before anything touches the cluster
    _check_mappings(client, request)
    _check_cloud_volumes(reader, request)
    report = RestoreReport(request.name, request.backup, location.name, "InProgress", request.dry_run, _now())
    run = _Run(client, reader, request, report, progress, on_item)
    run.execute()
    report.completed = _now()
    report.phase = "PartiallyFailed" if report.failures or report.errors \
        else ("Planned" if request.dry_run else "Completed")
    return report


def _check_mappings(client: KubeClient, request: RestoreRequest) -> None:
    for old, new in request.namespace_map.items():
        if client.exists(f"/api/v1/namespaces/{new}"):
            raise UsageError(
                f"Namespace {new!r} (mapped from {old!r}) already exists; nothing was restored.",
                hint="Map to a namespace that does not exist yet, or delete it first.")


def _check_cloud_volumes(reader: BackupReader, request: RestoreRequest) -> None:
    """Region, zone, type and credentials of every cloud disk to re-create, before any change."""
    cloud = providers.CloudProviders(request.aws)
    for record in reader.volumes():
        if record.get("method") in providers.CLOUD_METHODS and request.selection.namespace(record["namespace"]):
            cloud[record["method"]].check_recreate(record)


class _Run:
    def __init__(self, client: KubeClient, reader: BackupReader, request: RestoreRequest,
                 report: RestoreReport, progress: Progress, on_item: Callable[[ItemResult], None]) -> None:
        self.client, self.reader, self.request, self.report, self.progress = client, reader, request, report, progress
        self.on_item = on_item
        self.statefulsets: list[tuple[str, str]] = []
        self.volumes: dict[tuple[str, str], VolumeRecord] = {
            (v["namespace"], v["pvc"]): v for v in reader.volumes()
            if v.get("method") in ("csi-snapshot", "fs", *providers.CLOUD_METHODS)}
        self.cloud = providers.CloudProviders(request.aws)
        self._repository: Repository | None = None
        if not request.dry_run and any(v["method"] == "fs" for v in self.volumes.values()):
            self._repository = fs.repository(reader.store, request.repo_password, create=False, read_only=True)
        self.snapshotted_pvs = {v.get("pv") for v in self.volumes.values()}
        self.prepared: list[tuple[str, str, str]] = []  # namespace, snapshot, content
        self.claims: list[tuple[str, str]] = []

    def execute(self) -> None:
        for step in self._steps():
            if step.entry["resource"] == "customresourcedefinitions" and not self.request.dry_run:
                self._run_step(step)
                self._wait_crds()
                continue
            self._run_step(step)
        if self.request.dry_run:
            return
        if self.request.wait:
            self._wait_ready()
        for namespace, snapshot, content in self.prepared:
            try:
                csi_snapshots.release_restore(self.client, namespace, snapshot, content)
            except KubernetesError as exc:
                self.report.warnings.append(f"could not remove temporary snapshot {namespace}/{snapshot}: {exc.message}")

    def _steps(self) -> list[_Step]:
        steps = []
        for entry in self.reader.resources():
            qualified = f"{entry['resource']}.{entry['group']}" if entry["group"] else entry["resource"]
            if not self.request.selection.resource_named(entry["group"], entry["resource"], entry["kind"]):
                continue
            resource = ApiResource(entry["group"], entry["version"], entry["resource"], entry["kind"],
                                   entry["namespaced"], frozenset())
            custom = "." in entry["group"] and not entry["group"].endswith(".k8s.io")
            steps.append((rank(qualified, custom=custom), qualified, _Step(entry, resource, custom)))
        return [s for _r, _q, s in sorted(steps, key=lambda t: (t[0], t[1]))]

    def _objects(self, step: _Step) -> Iterator[dict[str, Any]]:
        selection = self.request.selection
        for obj in self.reader.items(step.entry):
            meta = obj.get("metadata", {})
            namespace = meta.get("namespace")
            if step.entry["resource"] == "namespaces" and not step.entry["group"]:
                namespace = meta.get("name")
            if namespace is not None and not selection.namespace(namespace):
                continue
            if not label_selector_matches(meta.get("labels") or {}, self.request.selector):
                continue
            yield obj

    def _run_step(self, step: _Step) -> None:
        qualified = step.resource.qualified
        with ThreadPoolExecutor(self.request.workers) as pool:
            for result in _bounded_map(pool, lambda o: self._restore_one(step, o), self._objects(step),
                                       in_flight=self.request.workers * 4):
                self.report.count(result)
                self.on_item(result)
                self.progress("item", asdict(result))
                if result.resource == "statefulsets.apps" and result.action in ("created", "updated"):
                    self.statefulsets.append((result.namespace or "", result.name))
        self.progress("resource", {"resource": qualified})

    def _restore_one(self, step: _Step, obj: dict[str, Any]) -> ItemResult:
        meta = obj.get("metadata", {})
        original_ns = meta.get("namespace")
        body = sanitize(obj, namespace_map=self.request.namespace_map, class_map=self.request.class_map)
        namespace = body["metadata"].get("namespace")
        name = body["metadata"]["name"]
        qualified = step.resource.qualified
        reason = skip_reason(obj)
        if step.entry["kind"] == "PersistentVolume" and meta.get("name") in self.snapshotted_pvs:
            reason = "re-created from its snapshot by the claim's restore"
        if reason:
            return ItemResult(qualified, namespace, name, "skipped", reason)
        record = self.volumes.get((original_ns or "", name)) if step.entry["kind"] == "PersistentVolumeClaim" else None
        if self.request.dry_run:
            return self._plan_one(step.resource, namespace, name, record)
        try:
            if record and record["method"] == "fs":
                return self._claim_with_files(step.resource, body, record, namespace or "")
            if record and record["method"] in providers.CLOUD_METHODS:
                if self.client.exists(step.resource.item(name, namespace)):
                    return ItemResult(qualified, namespace, name, "skipped", "already exists; no disk was created")
                self._claim_from_cloud_disk(body, record, namespace or "")
            elif record:
                self._claim_from_snapshot(body, record, namespace or "")
            return self._apply(step.resource, body, namespace, name)
        except (KubernetesError, SalvageError) as exc:
            return ItemResult(qualified, namespace, name, "failed", exc.message)

    def _plan_one(self, resource: ApiResource, namespace: str | None, name: str,
                  record: VolumeRecord | None) -> ItemResult:
        """What a real run would do with this object (reads only)."""
        if self.client.exists(resource.item(name, namespace)):
            policy = "updated" if self.request.existing_policy == "update" else "skipped"
            return ItemResult(resource.qualified, namespace, name, "planned", f"exists: would be {policy}")
        how = ""
        if record:
            source = "files from repository snapshot" if record["method"] == "fs" else "volume from snapshot"
            how = f"{source} {record['snapshotHandle']}"
        return ItemResult(resource.qualified, namespace, name, "planned", how)

    def _claim_from_snapshot(self, claim: dict[str, Any], record: VolumeRecord, namespace: str) -> None:
        snapshot, content = csi_snapshots.prepare_restore(
            self.client, record, namespace, self.request.name, timeout=self.request.timeout)
        self.prepared.append((namespace, snapshot, content))
        source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot}
        spec = claim["spec"]
        spec.pop("volumeName", None)
        spec["dataSource"] = source
        spec["dataSourceRef"] = dict(source)
        requested = parse_quantity(spec.get("resources", {}).get("requests", {}).get("storage", "0"))
        if record.get("restoreSize") and requested < int(record["restoreSize"]):
            spec["resources"]["requests"]["storage"] = format_bytes(int(record["restoreSize"]))
        self.claims.append((namespace, claim["metadata"]["name"]))

    def _claim_with_files(self, resource: ApiResource, claim: dict[str, Any], record: VolumeRecord,
                          namespace: str) -> ItemResult:
        """An empty new volume, filled from the repository before any workload starts."""
        spec = claim["spec"]
        for key in ("volumeName", "dataSource", "dataSourceRef"):
            spec.pop(key, None)
        name = claim["metadata"]["name"]
        result = self._apply(resource, claim, namespace, name)
        if result.action != "created":
            return result  # an existing claim's data is never overwritten
        path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}"
        if not _poll(lambda: self.client.get(path).get("status", {}).get("phase") == "Bound",
                     time.monotonic() + self.request.timeout):
            return ItemResult(resource.qualified, namespace, name, "failed", "the new volume was not bound in time")
        pv = self.client.get(f"/api/v1/persistentvolumes/{self.client.get(path)['spec']['volumeName']}")
        target = fs.local_path(pv)
        if target is None or self._repository is None:
            return ItemResult(resource.qualified, namespace, name, "failed",
                              "the new volume's files are not reachable from here (needs a data-mover pod)")
        filled = fs.fill(self._repository, record, target)
        if filled.xattr_failures:
            self.report.warnings.append(
                f"volume {namespace}/{name}: {xattr_summary(filled.xattr_failures, filled.xattr_failed_files)}: "
                + "; ".join(filled.xattrs_not_restored[:5]))
        return ItemResult(resource.qualified, namespace, name, "created", f"files from snapshot {record['snapshotHandle'][:8]}")

    def _claim_from_cloud_disk(self, claim: dict[str, Any], record: VolumeRecord, namespace: str) -> None:
        """A new disk from the snapshot and a PV bound in advance to the claim, which keeps its
        name, so the StatefulSet adopts it (seed 000's hand-written PV and PVC)."""
        provider = self.cloud[record["method"]]
        name = claim["metadata"]["name"]
        pv_name = record["pv"]
        if self.client.exists(f"/api/v1/persistentvolumes/{pv_name}"):  # e.g. the original, still in use
            pv_name = f"salvage-{hashlib.sha256(f'{self.request.name}/{namespace}/{name}'.encode()).hexdigest()[:20]}"
        spec = provider.recreate(record, timeout=self.request.timeout, progress=self.progress)
        claim["spec"].setdefault("storageClassName", "")
        spec["storageClassName"] = claim["spec"]["storageClassName"]  # after --storage-class-mappings
        labels = {"restore.salvage.io/name": self.request.name}
        try:
            self.client.create("/api/v1/persistentvolumes",
                               providers.pre_bound_volume(pv_name, spec, namespace, name, labels))
        except KubernetesError:
            provider.discard(spec, record)
            raise
        claim["spec"]["volumeName"] = pv_name
        self.claims.append((namespace, name))

    def _apply(self, resource: ApiResource, body: dict[str, Any], namespace: str | None, name: str) -> ItemResult:
        qualified = resource.qualified
        if self.client.create_if_absent(resource.collection(namespace), body):
            return ItemResult(qualified, namespace, name, "created")
        if self.request.existing_policy == "none":
            return ItemResult(qualified, namespace, name, "skipped", "already exists")
        current = self.client.get(resource.item(name, namespace))
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self.client.replace(resource.item(name, namespace), body)
        return ItemResult(qualified, namespace, name, "updated")

    def _wait_crds(self) -> None:
        deadline = time.monotonic() + 60
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        while time.monotonic() < deadline:
            pending = [c for c in self.client.list(path) if not has_condition(c, "Established")]
            if not pending:
                return
            time.sleep(0.2)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.request.timeout
        waits = self.statefulsets
        self.progress("phase", {"message": f"waiting for {len(self.claims)} volume(s) and {len(waits)} StatefulSet(s)"})
        for namespace, name in self.claims:
            path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}"
            if not _poll(lambda p=path: self.client.get(p).get("status", {}).get("phase") == "Bound", deadline):
                self.report.warnings.append(f"PersistentVolumeClaim {namespace}/{name} is not Bound yet")
        for namespace, name in waits:
            path = f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"

            def ready(p: str = path) -> bool:
                sts = self.client.get(p)
                want = sts.get("spec", {}).get("replicas", 1)
                return int(sts.get("status", {}).get("readyReplicas") or 0) >= want

            if not _poll(ready, deadline):
                self.report.warnings.append(f"StatefulSet {namespace}/{name} is not ready yet")


def _bounded_map(pool: ThreadPoolExecutor, fn: Callable[[Any], ItemResult], items: Iterator[Any],
                 *, in_flight: int) -> Iterator[ItemResult]:
    """Like ``pool.map``, but reads ``items`` lazily: at most ``in_flight`` objects are held at
    once, so memory does not grow with the size of the backup (``map`` submits everything)."""
    pending: set[Future[ItemResult]] = set()
    for item in items:
        pending.add(pool.submit(fn, item))
        if len(pending) >= in_flight:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    for future in pending:
        yield future.result()


def _poll(condition: Callable[[], bool], deadline: float) -> bool:
    while True:
        try:
            if condition():
                return True
        except KubernetesError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
