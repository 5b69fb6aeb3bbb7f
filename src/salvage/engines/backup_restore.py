"""The restore engine: verify a backup, plan, re-create volumes and objects, report each item."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from queue import SimpleQueue
from typing import Any

from salvage.catalog.reader import BackupReader
from salvage.catalog.backup_records import ResourceEntry, VolumeRecord
from salvage.engines.ordering import rank
from salvage.engines.rollback import DATA_ERRORS, Creations
from salvage.engines.sanitize import sanitize, skip_reason
from salvage.engines.selection import Selection, label_selector_matches
from salvage.k8s.api_groups import apps, core, crds
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import has_condition, is_bound, replicas_ready
from salvage.k8s.discovery import ApiResource, discover
from salvage.k8s.waits import poll, wait_for
from salvage.k8s.storage_classes import binds_on_first_use
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import KubernetesError, SalvageError, UsageError
from salvage.model.mover import MoverSettings
from salvage.model.progress import Finished, Item, Progress, ResourceDone, Started, Step, quiet
from salvage.storage.errors import StorageError
from salvage.volumes import mover
from salvage.volumes.method import FILLING, ClaimSource, fill_finished, filling_value, half_filled, mark_filling
from salvage.volumes.sources import VolumeRestorer, has_volume_data


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
    # Read every pack of the fs volumes' data whole before the first change (else sizes only).
    verify_data: bool = False
    # Read each filled volume back and compare its tree digest with the one the backup
    # recorded (``fs`` volumes; a drill's check); a difference is a ``volume-digest`` event.
    check_digests: bool = False
    # When damaged data stops the restore halfway, keep what it created (else removed).
    keep_partial: bool = False
    # The caller has just verified every object of the backup (a drill, as its first phase).
    verified: bool = False
    # Put on every namespace this restore creates (a drill marks its scratch namespaces so
    # that those a killed drill leaves can be told from the user's: engines/drill_scratch.py).
    namespace_labels: dict[str, str] = field(default_factory=dict)
    namespace_annotations: dict[str, str] = field(default_factory=dict)
    repo_password: str | None = field(default=None, repr=False)
    aws: AwsSettings = field(default_factory=AwsSettings)  # for aws-ebs volume records
    gce: GceSettings = field(default_factory=GceSettings)  # for gce-pd volume records
    azure: AzureSettings = field(default_factory=AzureSettings)  # for azure-disk volume records
    mover: MoverSettings = field(default_factory=MoverSettings)  # fs volumes' data-mover pods


# One object's outcome: what the caller's ``on_item`` gets, and the progress event itself.
ItemResult = Item


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
    # Stopped by damaged data: what it had created and removed again (or kept, --keep-partial).
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    # What stopped it: "damaged backup data", a volume whose data could not be read, or the
    # location failing to deliver the backup's objects mid-restore.
    stopped_by: str = ""
    # PartiallyFailed: what it created, left in place beside what failed (so a user can see
    # what to delete before restoring again).
    left: list[str] = field(default_factory=list)

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
                   progress: Progress = quiet,
                   on_item: Callable[[ItemResult], None] = lambda _i: None) -> RestoreReport:
    if request.existing_policy not in ("none", "update"):
        raise UsageError(f"--existing-resource-policy {request.existing_policy!r} is not a policy: it must be "
                         "none or update.",
                         hint="none keeps objects that already exist; update replaces them with the backup's.")
    reader = BackupReader(location.store, request.backup)
    progress(Started("restore", request.name))
    progress(Step(f"verifying {len(reader.manifest['files'])} objects of backup {request.backup}"))
    if not request.verified:
        reader.verify()  # before anything touches the cluster
    _check_mappings(client, request)
    report = RestoreReport(request.name, request.backup, location.name, "InProgress", request.dry_run, _now())
    run = _Run(client, reader, request, report, progress, on_item, location)
    _check_volumes(run, request)
    try:
        run.execute()
    except BaseException as exc:
        mover.cancel_all()  # Ctrl-C or a stop from outside: the data-mover pods stop and remove themselves
        if isinstance(exc, SalvageError):
            # Stopped from outside (the API server or the location out of reach): what this
            # restore had created stays, and the error says so, object by object.
            made = run.created.labels()
            if made:
                exc.message += (f"\nThe restore stopped; the {len(made)} object(s) it had created were left in place: "
                                f"{', '.join(made)}.")
        raise
    report.completed = _now()
    if run.damaged:
        report.phase = "Failed"
    else:
        report.phase = "PartiallyFailed" if report.failures or report.errors \
            else ("Planned" if request.dry_run else "Completed")
    if report.phase == "PartiallyFailed":
        report.left = run.created.labels()
    progress(Finished("restore", request.name, report.phase))
    return report


def _check_mappings(client: KubeClient, request: RestoreRequest) -> None:
    for old, new in request.namespace_map.items():
        if client.exists(core("namespaces", None, new)):
            raise UsageError(
                f"Namespace {new!r} (mapped from {old!r}) already exists; nothing was restored.",
                hint="Map to a namespace that does not exist yet, or delete it first.")


def _check_volumes(run: _Run, request: RestoreRequest) -> None:
    """Region, zone, type and credentials of every cloud disk to re-create, and the repository
    of every fs volume (a dry run reads none), before any change."""
    run.volumes.check((r for r in run.records.values() if request.selection.namespace(r["namespace"])),
                      dry_run=request.dry_run)


class _Run:
    def __init__(self, client: KubeClient, reader: BackupReader, request: RestoreRequest,
                 report: RestoreReport, progress: Progress, on_item: Callable[[ItemResult], None],
                 location: Location) -> None:
        self.client, self.reader, self.request, self.report, self.progress = client, reader, request, report, progress
        self.on_item = on_item
        self.statefulsets: list[tuple[str, str]] = []
        self.records: dict[tuple[str, str], VolumeRecord] = {
            (v["namespace"], v["pvc"]): v for v in reader.volumes() if has_volume_data(v)}
        self.volumes = VolumeRestorer(client, reader.store, owner=request.name, repo_password=request.repo_password,
                                      aws=request.aws, gce=request.gce, azure=request.azure,
                                      verify_data=request.verify_data, location=location.spec, mover=request.mover,
                                      progress=progress, check_digests=request.check_digests)
        self.snapshotted_pvs = {v.get("pv") for v in self.records.values()}
        self.sources: list[ClaimSource] = []
        self.claims: list[tuple[str, str]] = []
        self.created = Creations()
        # What stopped the run: volumes that could not be filled (damaged, or unreadable), or
        # the backup's objects the location failed to deliver.
        self.damaged: list[str] = []
        self.stopped_by = "damaged backup data"
        self.namespaces_seen: set[str] = set()
        # Resource names as users write them (short names, kinds) need the cluster's discovery.
        selection = request.selection
        named = [r for r in selection.include_resources if r != "*"] or selection.exclude_resources
        self.discovery = discover(client) if named else None

    def execute(self) -> None:
        for step in self._steps():
            self._run_step(step)
            if self.damaged:
                self._stop()
                return
            if step.entry["resource"] == "customresourcedefinitions" and not self.request.dry_run:
                self._wait_crds()
        if self.request.dry_run:
            return
        if self.request.wait:
            self._wait_ready()
        self._release_sources()
        self._after_ready()

    def _after_ready(self) -> None:
        """Database dumps go into the servers that now run on the restored claims."""
        for source in self.sources:
            if source.after_ready is None:
                continue
            if not self.request.wait:
                self.report.warnings.append("the databases' dumps were not restored (--no-wait); "
                                            "run `salvage db restore` once the servers run")
                continue
            try:
                self.progress(Step(source.after_ready()))
            except SalvageError as exc:
                self.report.errors.append(f"{exc.message}" + (f" ({exc.hint})" if exc.hint else ""))

    def _release_sources(self) -> None:
        for source in self.sources:
            try:
                source.release()
            except KubernetesError as exc:
                self.report.warnings.append(f"could not remove a temporary snapshot: {exc.message}")

    def _stop(self) -> None:
        """A volume could not be filled (damaged data, or the location failed mid-read):
        create nothing more, release the temporary snapshot objects, and remove what this
        restore created (unless kept), so no workload starts on half a volume."""
        self.report.errors.extend(self.damaged)
        self.report.stopped_by = self.stopped_by
        self._release_sources()
        if self.request.keep_partial:
            self.report.kept = self.created.labels()
            return
        self.progress(Step(f"{self.stopped_by}: removing what this restore created"))
        result = self.created.roll_back(self.client, timeout=min(self.request.timeout, 120.0))
        self.report.removed = result.removed
        self.report.errors.extend(f"not removed: {r}" for r in result.remaining)

    def _steps(self) -> list[_Step]:
        steps = []
        for entry in self.reader.resources():
            qualified = f"{entry['resource']}.{entry['group']}" if entry["group"] else entry["resource"]
            if not self._selected(entry):
                continue
            resource = ApiResource(entry["group"], entry["version"], entry["resource"], entry["kind"],
                                   entry["namespaced"], frozenset())
            custom = "." in entry["group"] and not entry["group"].endswith(".k8s.io")
            steps.append((rank(qualified, custom=custom), qualified, _Step(entry, resource, custom)))
        return [s for _r, _q, s in sorted(steps, key=lambda t: (t[0], t[1]))]

    def _selected(self, entry: ResourceEntry) -> bool:
        live = self.discovery.by_group_resource(entry["group"], entry["resource"]) if self.discovery else None
        if live is not None:
            return self.request.selection.resource(live)
        return self.request.selection.resource_named(entry["group"], entry["resource"], entry["kind"])

    def _ensure_namespace(self, original: str) -> None:
        """Objects restored into a namespace that is not there (not selected by the filters, or
        not labelled for ``-l``) get it created, as kubectl would need; it is reported as an item."""
        target = self.request.namespace_map.get(original, original)
        if self.request.dry_run or target in self.namespaces_seen:
            return
        self.namespaces_seen.add(target)
        body = self._marked({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}})
        if not self.client.exists(core("namespaces", None, target)) and \
                self.client.create_if_absent(core("namespaces"), body):
            self.created.add(core("namespaces", None, target), f"Namespace {target}")
            item = ItemResult("namespaces", None, target, "created", "needed by the objects restored into it")
            self.report.count(item)
            self.on_item(item)
            self.progress(item)

    def _marked(self, namespace: dict[str, Any]) -> dict[str, Any]:
        meta = namespace["metadata"]
        for key, extra in (("labels", self.request.namespace_labels),
                           ("annotations", self.request.namespace_annotations)):
            if extra:
                meta[key] = {**(meta.get(key) or {}), **extra}
        return namespace

    def _objects(self, step: _Step) -> Iterator[dict[str, Any]]:
        """The step's objects, read from the backup as they are restored. When the location
        fails to deliver them (after its own retries), the run stops as for a volume it could
        not read: the restore would not be whole, and nothing else is created."""
        selection = self.request.selection
        try:
            for obj in self.reader.items(step.entry):
                meta = obj.get("metadata", {})
                namespace = meta.get("namespace")
                if step.entry["resource"] == "namespaces" and not step.entry["group"]:
                    namespace = meta.get("name")
                if namespace is not None and not selection.namespace(namespace):
                    continue
                if not label_selector_matches(meta.get("labels") or {}, self.request.selector):
                    continue
                if step.entry["namespaced"] and namespace:
                    self._ensure_namespace(namespace)  # here, in the caller's thread: one at a time
                yield obj
        except StorageError as exc:
            self.stopped_by = "the location failing mid-restore"
            self.damaged.append(f"the {step.resource.qualified} of backup {self.request.backup} could not be read "
                                f"from the location: {_said(exc)}")

    def _run_step(self, step: _Step) -> None:
        qualified = step.resource.qualified
        with ThreadPoolExecutor(self.request.workers) as pool:
            for result in _bounded_map(pool, lambda o: self._restore_one(step, o), self._objects(step),
                                       in_flight=self.request.workers * 4):
                self.report.count(result)
                self.on_item(result)
                self.progress(result)
                if result.resource == "statefulsets.apps" and result.action in ("created", "updated"):
                    self.statefulsets.append((result.namespace or "", result.name))
        self.progress(ResourceDone(qualified))

    def _restore_one(self, step: _Step, obj: dict[str, Any]) -> ItemResult:
        meta = obj.get("metadata", {})
        original_ns = meta.get("namespace")
        body = sanitize(obj, namespace_map=self.request.namespace_map, class_map=self.request.class_map)
        if step.entry["kind"] == "Namespace" and not step.entry["group"]:
            body = self._marked(body)
        namespace = body["metadata"].get("namespace")
        name = body["metadata"]["name"]
        qualified = step.resource.qualified
        reason = skip_reason(obj)
        if step.entry["kind"] == "PersistentVolume" and meta.get("name") in self.snapshotted_pvs:
            reason = "re-created from its snapshot by the claim's restore"
        if reason:
            return ItemResult(qualified, namespace, name, "skipped", reason)
        record = self.records.get((original_ns or "", name)) if step.entry["kind"] == "PersistentVolumeClaim" else None
        if self.request.dry_run:
            return self._plan_one(step.resource, namespace, name, record)
        try:
            if record:
                return self._claim(step.resource, body, record, namespace or "")
            return self._apply(step.resource, body, namespace, name)
        except KubernetesError as exc:
            if exc.status is None or exc.status == 401:
                # The API server is out of reach (after the client's retries), or no longer
                # takes the credentials (a token deleted or expired mid-run): every next object
                # would fail the same way, so the run stops, naming what it made.
                raise
            return ItemResult(qualified, namespace, name, "failed", exc.message)
        except SalvageError as exc:
            return ItemResult(qualified, namespace, name, "failed", exc.message)

    def _plan_one(self, resource: ApiResource, namespace: str | None, name: str,
                  record: VolumeRecord | None) -> ItemResult:
        """What a real run would do with this object (reads only)."""
        if self.client.exists(resource.item(name, namespace)):
            policy = "updated" if self.request.existing_policy == "update" else "skipped"
            return ItemResult(resource.qualified, namespace, name, "planned", f"exists: would be {policy}")
        return ItemResult(resource.qualified, namespace, name, "planned", self.volumes.describe(record) if record else "")

    def _claim(self, resource: ApiResource, claim: dict[str, Any], record: VolumeRecord,
               namespace: str) -> ItemResult:
        """A claim re-created from its volume record (volumes/sources.py): the temporary
        snapshot objects are released once every claim is bound; an ``fs`` volume is filled
        from the repository as soon as it is bound, before any workload starts."""
        name = claim["metadata"]["name"]
        existing = self.client.find(resource.item(name, namespace))
        if existing is not None and half_filled(existing) is None:
            # An existing claim's data is never overwritten, and no disk is made for it.
            return ItemResult(resource.qualified, namespace, name, "skipped", "already exists; its volume is kept")
        source = self.volumes.prepare(record, claim, namespace, timeout=self.request.timeout)
        if existing is not None:
            return self._refill(resource, existing, record, source, namespace)
        self.sources.append(source)
        source.shape(claim["spec"])
        if source.fill is not None:
            mark_filling(claim, filling_value(record))
        else:  # a claim backed up while half-filled: this one is whole from its snapshot
            (claim["metadata"].get("annotations") or {}).pop(FILLING, None)
        result = self._apply(resource, claim, namespace, name)
        if source.fill is None:
            self.claims.append((namespace, name))
            return result
        pv = self._volume_to_fill(claim, namespace, name)
        if pv is None:
            return ItemResult(resource.qualified, namespace, name, "failed", "the new volume was not bound in time")
        if result.action == "created" and pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            # Goes with the claim; a rollback waits for it (its provisioner removes the data).
            self.created.add(core("persistentvolumes", None, pv["metadata"]["name"]),
                             f"PersistentVolume {pv['metadata']['name']}", delete=False)
        return self._fill(resource, source, record, pv, namespace, name, self.volumes.describe(record))

    def _refill(self, resource: ApiResource, existing: dict[str, Any], record: VolumeRecord, source: ClaimSource,
                namespace: str) -> ItemResult:
        """A claim an earlier run was filling when it stopped (killed, or cut off): it holds
        part of its files. From the same backed-up data, it is filled again, before any
        workload starts; from other data, the restore stops and says so (nothing is deleted)."""
        name = existing["metadata"]["name"]
        left = half_filled(existing)
        pv = self._volume_to_fill(existing, namespace, name) if source.fill and left == filling_value(record) else None
        if pv is None:
            self.stopped_by = "a claim left half-filled by an earlier run"
            self.damaged.append(
                f"claim {namespace}/{name} holds only part of its files: a run filling it from {left} stopped "
                f"before it finished, and this backup's volume is {filling_value(record)}. Nothing was written "
                f"into it; delete the claim (`kubectl delete pvc -n {namespace} {name}`) and restore again")
            return ItemResult(resource.qualified, namespace, name, "failed", "left half-filled by an earlier run")
        self.progress(Step(f"claim {namespace}/{name}: an earlier run stopped while filling it; "
                           "restoring its files again"))
        return self._fill(resource, source, record, pv, namespace, name,
                          "refilled: an earlier run stopped while filling it", action="updated")

    def _volume_to_fill(self, claim: dict[str, Any], namespace: str, name: str) -> dict[str, Any] | None:
        """The PV a claim's files go into, once bound (None: not bound in time)."""
        if binds_on_first_use(self.client, claim) and not claim["spec"].get("volumeName"):
            # No PV until a pod uses the claim: the data-mover pod that fills it is that pod.
            return {"metadata": {"name": ""}, "spec": {"claimRef": {"namespace": namespace, "name": name}}}
        path = core("persistentvolumeclaims", namespace, name)
        if not (bound := _bound_within(self.client, path, time.monotonic() + self.request.timeout)):
            return None
        return self.client.get(core("persistentvolumes", None, bound["spec"]["volumeName"]))

    def _fill(self, resource: ApiResource, source: ClaimSource, record: VolumeRecord, pv: dict[str, Any],
              namespace: str, name: str, done: str, action: str = "created") -> ItemResult:
        assert source.fill is not None
        try:
            self.report.warnings.extend(source.fill(pv))
            fill_finished(self.client, core("persistentvolumeclaims", namespace, name))
        except DATA_ERRORS as exc:
            self.damaged.append(f"volume {record.get('namespace')}/{record.get('pvc')} "
                                f"(claim {namespace}/{name}): {exc.message}")
            return ItemResult(resource.qualified, namespace, name, "failed",
                              "its files are damaged in the backup (see the errors); the restore stopped")
        except SalvageError as exc:  # the location failed mid-read (after its own retries)
            self.stopped_by = "a volume whose data could not be read"
            self.damaged.append(f"volume {record.get('namespace')}/{record.get('pvc')} "
                                f"(claim {namespace}/{name}) could not be filled: {_said(exc)}")
            return ItemResult(resource.qualified, namespace, name, "failed",
                              "its files could not be read from the location (see the errors); the restore stopped")
        return ItemResult(resource.qualified, namespace, name, action, done)

    def _apply(self, resource: ApiResource, body: dict[str, Any], namespace: str | None, name: str) -> ItemResult:
        qualified = resource.qualified
        if self.client.create_if_absent(resource.collection(namespace), body):
            where = f"{namespace}/{name}" if namespace else name
            self.created.add(resource.item(name, namespace), f"{resource.kind} {where}")
            return ItemResult(qualified, namespace, name, "created")
        if self.request.existing_policy == "none":
            return ItemResult(qualified, namespace, name, "skipped", "already exists")
        current = self.client.get(resource.item(name, namespace))
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self.client.replace(resource.item(name, namespace), body)
        return ItemResult(qualified, namespace, name, "updated")

    def _wait_crds(self) -> None:
        """Restored CRDs serve their resources (Established) before their objects are restored;
        after a minute the restore goes on, and those objects fail with the API's reason."""
        poll(lambda: all(has_condition(c, "Established") for c in self.client.list(crds())),
             time.monotonic() + 60, interval=0.2)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.request.timeout
        waits = self.statefulsets
        self.progress(Step(f"waiting for {len(self.claims)} volume(s) and {len(waits)} StatefulSet(s)"))
        for namespace, name in self.claims:
            if not _bound_within(self.client, core("persistentvolumeclaims", namespace, name), deadline):
                self.report.warnings.append(f"PersistentVolumeClaim {namespace}/{name} is not Bound yet")
        for namespace, name in waits:
            try:
                wait_for(self.client, apps("statefulsets", namespace, name),
                         lambda sts: sts is not None and replicas_ready(sts), deadline, f"StatefulSet {name}")
            except SalvageError:  # not in time, or not readable: the restore itself is done
                self.report.warnings.append(f"StatefulSet {namespace}/{name} is not ready yet")


def _bound_within(client: KubeClient, path: str, deadline: float) -> dict[str, Any] | None:
    """The claim at ``path`` once Bound; None if it is not by ``deadline`` (or cannot be read)."""
    try:
        return wait_for(client, path, is_bound, deadline, f"claim {path.rsplit('/', 1)[1]}")
    except SalvageError:
        return None


def _bounded_map(pool: ThreadPoolExecutor, fn: Callable[[Any], ItemResult], items: Iterator[Any],
                 *, in_flight: int) -> Iterator[ItemResult]:
    """Like ``pool.map``, but reads ``items`` lazily: at most ``in_flight`` objects are held at
    once, so memory does not grow with the size of the backup (``map`` submits everything).
    Results come in the order they finish, each handed over through one queue (waiting on
    the set of pending futures instead cost more per object than the create itself, on the
    thread that reads the backup)."""
    finished: SimpleQueue[Future[ItemResult]] = SimpleQueue()
    pending = 0
    for item in items:
        pool.submit(fn, item).add_done_callback(finished.put)
        pending += 1
        if pending >= in_flight:
            pending -= 1
            yield finished.get().result()
    for _ in range(pending):
        yield finished.get().result()


def _said(exc: SalvageError) -> str:
    """An error and its next step, in one line of the report."""
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
