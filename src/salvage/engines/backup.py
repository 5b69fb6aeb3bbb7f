"""The backup engine: capture selected Kubernetes objects (raw JSON) and their volumes."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import zstandard

from salvage.catalog import layout
from salvage.catalog.backup_records import Manifest, VolumeRecord
from salvage.catalog.writer import BackupWriter
from salvage.engines.selection import Selection
from salvage.k8s.api_groups import core, storage
from salvage.k8s.client import KubeClient
from salvage.k8s.discovery import ApiResource, Discovery, discover
from salvage.k8s.listing import list_objects
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import KubernetesError, NotFoundError, SalvageError, UsageError
from salvage.model.mover import MoverSettings
from salvage.engines.snapshot_hooks import held_by_hooks, pods_mounting
from salvage.model.progress import Finished, Level, Logged, Progress, ResourceDone, Started, VolumeState, quiet
from salvage.engines.snapshot_move import move_snapshot_data
from salvage.volumes import csi_snapshots, fs, mover, registry
from salvage.volumes.method import MethodContext
from salvage.volumes.registry import Methods

_STATES = {"fs": "copying files", "database": "dumping its database"}


@dataclass(frozen=True)
class BackupRequest:
    name: str
    selection: Selection = field(default_factory=Selection)
    selector: str | None = None
    cluster_resources: str = "auto"  # auto | true | false
    snapshot_volumes: bool = True
    ttl_seconds: int | None = None
    snapshot_timeout: float = 300.0
    default_volumes_to_fs: bool = False
    repo_password: str | None = field(default=None, repr=False)
    volume_snapshot_provider: str = "auto"  # auto | csi | aws-ebs | gce-pd (see volumes/registry.py)
    aws: AwsSettings = field(default_factory=AwsSettings)
    gce: GceSettings = field(default_factory=GceSettings)
    azure: AzureSettings = field(default_factory=AzureSettings)
    # The backup's own labels, kept in its manifest (e.g. salvage.io/schedule on a
    # schedule's backups): what `backup prune --selector` and retention pick backups by.
    labels: dict[str, str] = field(default_factory=dict)
    mover: MoverSettings = field(default_factory=MoverSettings)  # fs volumes' data-mover pods
    # Snapshot volumes, then move each snapshot's data into the repository and release it.
    snapshot_move_data: bool = False

    def to_json(self) -> dict[str, Any]:
        s = self.selection
        return {
            "includeNamespaces": list(s.include_namespaces), "excludeNamespaces": list(s.exclude_namespaces),
            "includeResources": list(s.include_resources), "excludeResources": list(s.exclude_resources),
            "labelSelector": self.selector, "includeClusterResources": self.cluster_resources,
            "snapshotVolumes": self.snapshot_volumes, "ttlSeconds": self.ttl_seconds,
            "defaultVolumesToFsBackup": self.default_volumes_to_fs,
            "volumeSnapshotProvider": self.volume_snapshot_provider,
            "snapshotMoveData": self.snapshot_move_data,
        }


@dataclass(frozen=True)
class BackupOutcome:
    name: str
    phase: str
    items: int
    volumes: list[VolumeRecord]
    warnings: list[str]
    errors: list[str]
    seconds: float
    bytes_written: int


class _Journal:
    """The backup's log (stored with it) and its warnings and errors."""

    def __init__(self, progress: Progress) -> None:
        self.lines: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.progress = progress
        self._lock = threading.Lock()

    def log(self, level: Level, message: str) -> None:
        with self._lock:
            self.lines.append({"time": _now(), "level": level, "message": message})
            if level == "warning":
                self.warnings.append(message)
            elif level == "error":
                self.errors.append(message)
        self.progress(Logged(level, message))

    def compressed(self) -> bytes:
        text = "".join(json.dumps(line) + "\n" for line in self.lines)
        return zstandard.ZstdCompressor().compress(text.encode())


def create_backup(client: KubeClient, location: Location, request: BackupRequest,
                  progress: Progress = quiet) -> BackupOutcome:
    if location.spec.read_only:
        raise UsageError(f"Location {location.name!r} is ReadOnly; backups cannot be written to it.",
                         hint="Choose a ReadWrite location with --location.")
    if request.cluster_resources not in ("auto", "true", "false"):
        raise UsageError("--include-cluster-resources must be auto, true or false.")
    methods = Methods(MethodContext(client, location.store, request.repo_password, request.aws, progress,
                                    gce=request.gce, azure=request.azure, create_repository=True,
                                    location=location.spec, mover=request.mover))
    if request.default_volumes_to_fs or request.snapshot_move_data:
        methods[fs.METHOD].check_capture()  # the clear "needs the password" error
    registry.check_choice(request.volume_snapshot_provider)
    if request.snapshot_volumes and request.volume_snapshot_provider != registry.AUTO:
        # Before anything is written: without credentials every volume would fail.
        methods[registry.chosen(request.volume_snapshot_provider)].check_capture()
    started, started_at = time.monotonic(), _now()
    progress(Started("backup", request.name))
    writer = BackupWriter(location.store, request.name)
    journal = _Journal(progress)
    discovery = discover(client)
    for warning in discovery.warnings:
        journal.log("warning", warning)
    namespaces = _namespaces(client, request.selection)
    capture = _Capture(client, writer, journal, request, discovery, namespaces, progress, methods)
    capture.namespaced()
    volumes = capture.volumes() if request.snapshot_volumes else []
    capture.cluster_scoped(volumes)
    _still_allowed(client, journal)

    writer.put_json(layout.volumes(request.name), volumes)
    phase = "PartiallyFailed" if journal.errors else "Completed"
    items = sum(r["count"] for r in writer.resources)
    journal.log("info", f"backup {request.name} {phase.lower()}: {items} objects, {len(volumes)} volumes")
    seconds = time.monotonic() - started
    writer.put_json(layout.result(request.name), {
        "phase": phase, "items": items, "warnings": journal.warnings, "errors": journal.errors,
        "durationSeconds": round(seconds, 3),
    })
    writer.put(layout.log(request.name), journal.compressed())
    expires = None
    if request.ttl_seconds:
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=request.ttl_seconds)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    manifest: Manifest = {
        "formatVersion": layout.FORMAT_VERSION, "kind": "Backup", "name": request.name, "phase": phase,
        "startedAt": started_at, "completedAt": _now(), "expiresAt": expires,
        "cluster": {"server": client.connection.server, "version": _server_version(client)},
        "spec": request.to_json(), "labels": dict(request.labels), "resources": [], "files": {},
    }
    writer.finish(manifest)
    progress(Finished("backup", request.name, phase))
    return BackupOutcome(request.name, phase, items, volumes, journal.warnings, journal.errors,
                         time.monotonic() - started, writer.bytes_written)


class _Capture:
    def __init__(self, client: KubeClient, writer: BackupWriter, journal: _Journal, request: BackupRequest,
                 discovery: Discovery, namespaces: list[dict[str, Any]], progress: Progress, methods: Methods) -> None:
        self.client, self.writer, self.journal, self.request = client, writer, journal, request
        self.discovery, self.namespace_objects, self.progress = discovery, namespaces, progress
        self.namespaces = {n["metadata"]["name"] for n in namespaces}
        self.claims: list[dict[str, Any]] = []
        self.custom_groups: set[tuple[str, str]] = set()
        self._builtin_groups = _builtin_groups()
        self._classes: dict[str, dict[str, Any] | None] = {}
        self.methods = methods
        self._pods_by_namespace: dict[str, list[dict[str, Any]]] = {}

    def namespaced(self) -> None:
        wanted = [r for r in self.discovery.resources
                  if r.namespaced and "list" in r.verbs and self.request.selection.resource(r)]
        all_namespaces = self.request.selection.include_namespaces == ("*",) and not self.request.selection.exclude_namespaces
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda r: self._capture_resource(r, all_namespaces), wanted))

    def _capture_resource(self, resource: ApiResource, all_namespaces: bool) -> None:
        stream = self.writer.resource(resource.group, resource.version, resource.resource, resource.kind, True)
        scopes = [None] if all_namespaces else sorted(self.namespaces)
        params = {"labelSelector": self.request.selector} if self.request.selector else {}
        try:
            for namespace in scopes:
                for obj, text in list_objects(self.client, resource.collection(namespace), params=params,
                                              api_version=resource.api_version, kind=resource.kind):
                    if obj["metadata"].get("namespace") not in self.namespaces:
                        continue
                    stream.add(obj, text)
                    if resource.resource == "persistentvolumeclaims" and not resource.group:
                        self.claims.append(obj)
        except KubernetesError as exc:
            if exc.status in (401, 403, 404, 405):
                self.journal.log("warning", f"could not list {resource.qualified}: {exc.message}")
            else:
                self.journal.log("error", f"listing {resource.qualified} failed: {exc.message}")
        stream.flush()
        if stream.entry["count"]:
            if resource.group and resource.group not in self._builtin_groups:
                self.custom_groups.add((resource.group, resource.resource))
            self.progress(ResourceDone(resource.qualified, stream.entry["count"]))

    def volumes(self) -> list[VolumeRecord]:
        """Every bound claim's volume, ``--parallel-volumes`` at a time (in claim order);
        Ctrl-C stops the data-mover pods, which remove themselves."""
        bound = []
        for claim in self.claims:
            meta = claim["metadata"]
            if claim.get("status", {}).get("phase") != "Bound" or not claim["spec"].get("volumeName"):
                self.journal.log("warning", f"PersistentVolumeClaim {meta['namespace']}/{meta['name']} is not "
                                            "bound; no volume to capture")
                continue
            bound.append(claim)
        with ThreadPoolExecutor(max(1, self.request.mover.parallel_volumes)) as pool:
            try:
                return list(pool.map(self._volume, bound))
            except BaseException:
                mover.cancel_all()
                raise

    def _volume(self, claim: dict[str, Any]) -> VolumeRecord:
        meta = claim["metadata"]
        label = f"{meta['namespace']}/{meta['name']}"
        kind = fs.choose_method(claim, self._storage_class(claim), default_fs=self.request.default_volumes_to_fs)
        # Snapshot data moved: for the whole backup, or for a claim (or class) annotated so.
        move = kind == fs.SNAPSHOT_MOVE or (kind == "snapshot" and self.request.snapshot_move_data)
        kind = "snapshot" if kind == fs.SNAPSHOT_MOVE else kind
        if registry.holds_database(self.client, claim, self._pods(meta["namespace"])):
            kind, move = "database", False
        self.progress(VolumeState(label, _STATES.get(kind, "snapshotting")))
        hint = ""
        try:
            pv = self.client.get(core("persistentvolumes", None, claim["spec"]["volumeName"]))
            method = registry.capture_method(kind, pv, self.request.volume_snapshot_provider)
            if move and method != csi_snapshots.METHOD:
                self.journal.log("warning", f"volume of {label}: its snapshot data cannot be moved (only CSI "
                                            f"snapshots can); it gets a {method} snapshot instead")
            # A dump is consistent by itself; any other capture is held by the pods' hooks.
            hold = (lambda: nullcontext()) if kind == "database" else (lambda: self._held(claim))
            if move and method == csi_snapshots.METHOD:
                record = move_snapshot_data(self.client, self.methods, claim, pv, self.request.name,
                                            timeout=self.request.snapshot_timeout, mover=self.request.mover,
                                            hold=hold)
            else:
                with hold():
                    record = self.methods[method].capture(claim, pv, self.request.name,
                                                          timeout=self.request.snapshot_timeout)
        except (SalvageError, KubernetesError) as exc:
            record = {"namespace": meta["namespace"], "pvc": meta["name"], "method": "none", "error": exc.message}
            hint = f" {exc.hint}" if exc.hint else ""
        if record.get("error"):
            self.journal.log("error", f"volume of {label} was not captured: {record['error']}{hint}")
        else:
            self.journal.log("info", f"volume of {label} captured by {record['method']} "
                                     f"({record.get('snapshotHandle')})")
        self.progress(VolumeState(label, str(record.get("method")), done=True))
        return record

    def _held(self, claim: dict[str, Any]) -> AbstractContextManager[None]:
        """The pre/post hooks annotated on the running pods that mount ``claim``
        (``pre.hook.snapshot.salvage.io/command`` ...), around its capture."""
        meta = claim["metadata"]

        def report(message: str) -> None:
            level, _, text = message.partition(": ")
            if level in ("warning", "error"):
                self.journal.log(level, text)
            else:
                self.journal.log("info", message)

        return held_by_hooks(self.client, pods_mounting(self.client, meta["namespace"], meta["name"]), report)

    def _pods(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's pods, to find database servers by their annotations (once per namespace)."""
        if namespace not in self._pods_by_namespace:
            try:
                self._pods_by_namespace[namespace] = list(self.client.list(core("pods", namespace)))
            except KubernetesError as exc:
                self._pods_by_namespace[namespace] = []
                self.journal.log("warning", f"could not list the pods of namespace {namespace} ({exc.message}); "
                                            "database annotations there were not seen")
        return self._pods_by_namespace[namespace]

    def _storage_class(self, claim: dict[str, Any]) -> dict[str, Any] | None:
        name = claim["spec"].get("storageClassName")
        if not name:
            return None
        if name not in self._classes:
            try:
                self._classes[name] = self.client.get(storage("storageclasses", name))
            except KubernetesError:
                self._classes[name] = None
        return self._classes[name]

    def cluster_scoped(self, volumes: list[VolumeRecord]) -> None:
        mode = self.request.cluster_resources
        if mode == "false":
            return
        if mode == "true":
            wanted = [r for r in self.discovery.resources
                      if not r.namespaced and "list" in r.verbs and self.request.selection.resource(r)]
            for resource in wanted:
                self._write_all(resource, self.client.list(resource.collection()))
            return
        # auto: the cluster-scoped objects the selected ones depend on.
        self._write_named("", "namespaces", [n["metadata"]["name"] for n in self.namespace_objects])
        pv_names = sorted({c["spec"]["volumeName"] for c in self.claims if c["spec"].get("volumeName")})
        self._write_named("", "persistentvolumes", pv_names)
        classes = {c["spec"].get("storageClassName") for c in self.claims} - {None, ""}
        self._write_named("storage.k8s.io", "storageclasses", sorted(classes))
        snapshot_classes = {v.get("volumeSnapshotClass") for v in volumes} - {None, ""}
        self._write_named("snapshot.storage.k8s.io", "volumesnapshotclasses", sorted(snapshot_classes))
        crds = sorted(f"{res}.{group}" for group, res in self.custom_groups)
        self._write_named("apiextensions.k8s.io", "customresourcedefinitions", crds)

    def _write_named(self, group: str, plural: str, names: list[str]) -> None:
        resource = self.discovery.by_group_resource(group, plural)
        if resource is None or not names:
            return
        objects = []
        for name in names:
            try:
                objects.append(self.client.get(resource.item(name)))
            except KubernetesError as exc:
                # Gone or not allowed: a warning. Out of reach or a server error: the backup
                # misses an object it needs, so it cannot be Completed.
                level = "warning" if exc.status in (403, 404) else "error"
                self.journal.log(level, f"could not read {resource.qualified} {name}: {exc.message}")
        self._write_all(resource, iter(objects))

    def _write_all(self, resource: ApiResource, objects: Any) -> None:
        stream = self.writer.resource(resource.group, resource.version, resource.resource, resource.kind, False)
        for obj in objects:
            obj.setdefault("apiVersion", resource.api_version)
            obj.setdefault("kind", resource.kind)
            stream.add(obj)
        stream.flush()
        if stream.entry["count"]:
            self.progress(ResourceDone(resource.qualified, stream.entry["count"]))


def _namespaces(client: KubeClient, selection: Selection) -> list[dict[str, Any]]:
    existing = {n["metadata"]["name"]: n for n in client.list(core("namespaces"))}
    named = [n for n in selection.include_namespaces if not any(ch in n for ch in "*?[")]
    missing = [n for n in named if n not in existing]
    if missing:
        raise NotFoundError(f"Namespace(s) {', '.join(missing)} do not exist; nothing was backed up.",
                            hint="Check the names with `kubectl get namespaces`.")
    return [n for name, n in sorted(existing.items()) if selection.namespace(name)]


def _still_allowed(client: KubeClient, journal: _Journal) -> None:
    """A list the credentials may not make is a warning (the backup goes on without that
    kind), but only if they were refused from the start. Credentials revoked during the run
    (a deleted token, a removed RoleBinding) refuse everything after that moment: the same
    namespace list the run began with, asked again at its end, tells which, and a backup
    missing what they no longer let it read is not Completed."""
    try:
        client.request("GET", core("namespaces"), params={"limit": 1})
    except KubernetesError as exc:
        if exc.status not in (401, 403):
            raise
        journal.log("error", f"the credentials lost their rights during the backup ({exc.message}): what they "
                             "were refused after that is missing from it; run it again with working credentials")


def _builtin_groups() -> set[str]:
    return {"", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
            "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
            "apiextensions.k8s.io", "admissionregistration.k8s.io", "apiregistration.k8s.io",
            "certificates.k8s.io", "node.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
            "resource.k8s.io", "authentication.k8s.io", "authorization.k8s.io"}


def _server_version(client: KubeClient) -> str | None:
    try:
        return str(client.get("/version").get("gitVersion"))
    except KubernetesError:
        return None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["BackupOutcome", "BackupRequest", "create_backup"]
