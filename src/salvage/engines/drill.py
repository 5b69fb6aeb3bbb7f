"""Restore drills: restore a backup into scratch namespaces, wait for its workloads, run the
checks, measure the recovery time by phase, remove everything the drill made, and keep a
report (on the location beside the backup, or on this machine for a ReadOnly location).

A drill never touches an existing namespace: every namespace of the backup is mapped to a
new one named ``<namespace>-drill-<id>``, and the restore engine refuses a mapping onto a
namespace that exists. Everything the drill made lives in those namespaces (and the volumes
their claims bound), so removing them, also after a failure or Ctrl-C, removes it all.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from salvage.catalog import layout
from salvage.catalog.reader import BackupReader, list_backups
from salvage.engines import drill_scratch
from salvage.engines.drill_checks import Check, database_checks, digest_checks
from salvage.engines.backup_restore import ItemResult, RestoreRequest, restore_backup
from salvage.engines.pruning import schedule_selector
from salvage.engines.selection import Selection, label_selector_matches
from salvage.k8s.pods import is_ready, status_text
from salvage.k8s.api_groups import api_version_path, core
from salvage.k8s.api_groups import path as api_path
from salvage.k8s.client import KubeClient
from salvage.k8s.conditions import is_bound, replicas_ready
from salvage.k8s.exec import exec_in_pod
from salvage.k8s.waits import wait_for
from salvage.k8s.storage_classes import binds_on_first_use
from salvage.locations import Location
from salvage.locations.config import data_dir
from salvage.model.cloud_settings import AwsSettings, GceSettings
from salvage.model.errors import KubernetesError, NotFoundError, NotReadyError, SalvageError, UsageError
from salvage.model.progress import Event, Item, Logged, Progress, Step, VolumeDigest, quiet


SUFFIX = "-drill-"
# Workloads whose readiness the drill waits for, and the field that says how many are ready.
_WORKLOADS = (("apps/v1", "statefulsets", "StatefulSet", "readyReplicas"),
              ("apps/v1", "deployments", "Deployment", "availableReplicas"),
              ("apps/v1", "replicasets", "ReplicaSet", "readyReplicas"))


@dataclass(frozen=True)
class DrillRequest:
    backup: str
    name: str = ""  # default: <backup>-drill-<id>
    verify_command: tuple[str, ...] = ()
    verify_container: str | None = None
    verify_selector: str | None = None  # which pods run the command (default: every workload's pods)
    timeout: float = 600.0  # for readiness, and for each verify command
    keep_on_failure: bool = False  # leave the scratch namespaces of a failed drill for a look
    owner: str = ""  # what ran it, e.g. Drill salvage-system/nightly (the operator); "" for the CLI
    runner: str = ""  # the process running it: the operator's identity (default HOST:PID of this one)
    repo_password: str | None = field(default=None, repr=False)
    aws: AwsSettings = field(default_factory=AwsSettings)
    gce: GceSettings = field(default_factory=GceSettings)


@dataclass
class DrillReport:
    name: str
    backup: str
    location: str
    phase: str  # Running | Passed | Failed
    started: str
    completed: str = ""
    backup_completed: str | None = None
    # Recovery point: how old the backup's data was when the drill started (seconds).
    recovery_point_seconds: float | None = None
    # Recovery time: from the drill's start until every check had passed (None if one failed).
    recovery_time_seconds: float | None = None
    # seconds per phase, in order: verify, volumes, objects, readiness, databases (when the
    # backup holds PostgreSQL dumps: loading them), checks
    phases: dict[str, float] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)  # backup namespace -> scratch namespace
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)  # what could not be removed (empty: all removed)
    stored_at: str = ""  # where the report was written
    owner: str = ""  # DrillRequest.owner: whose reports prune_reports keeps

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def failed(self, message: str) -> None:
        self.errors.append(message)
        self.phase = "Failed"


def run_drill(client: KubeClient, location: Location, request: DrillRequest,
              progress: Progress = quiet) -> DrillReport:
    """Run one drill; the report says Passed only if every check passed."""
    drill_id = secrets.token_hex(3)
    name = request.name or _name(request.backup, drill_id)
    layout.check_name(name)
    reader = BackupReader(location.store, request.backup)  # a missing backup: refused here, nothing made
    if reader.manifest["phase"] != "Completed":
        raise UsageError(f"Backup {request.backup!r} is {reader.manifest['phase']}; only a Completed backup "
                         "is drilled.", hint="List backups with `salvage backup get`.")
    _remove_abandoned(client, request, progress)
    runner = request.runner or drill_scratch.this_process()
    started = time.monotonic()
    report = DrillReport(name, request.backup, location.name, "Running", _now(), owner=request.owner)
    report.backup_completed = reader.manifest.get("completedAt")
    report.recovery_point_seconds = _age(report.backup_completed)
    clock = _Phases(report)
    with drill_scratch.Heartbeat(client) as heartbeat:
        try:
            try:
                clock.start("verify", progress)
                reader.verify()  # every object against the manifest, before anything is made
                report.namespaces = {ns: _scratch(ns, drill_id) for ns in _namespaces(reader)}
                if not report.namespaces:
                    raise UsageError(f"Backup {request.backup!r} holds no namespaced object; there is nothing "
                                     "to drill.")
                heartbeat.add(report.namespaces.values())
                clock.stop()  # the restore's time is split into phases by _restore
                digests: dict[tuple[str, str], VolumeDigest] = {}
                items = _restore(client, location, reader, request, report, progress, digests, runner)
                if report.phase != "Failed":
                    clock.start("readiness", progress)
                    _wait_ready(client, report, request.timeout)
                databases: list[Check] = []
                if report.phase != "Failed" and any(v.get("method") == "postgresql" for v in reader.volumes()):
                    clock.start("databases", progress)
                    databases = database_checks(client, location, reader.volumes(), report.namespaces,
                                                request.repo_password,
                                                lambda m: progress(Step(f"drill {name}: {m}")))
                if report.phase != "Failed":
                    clock.start("checks", progress)
                    _checks(client, report, items, request)
                    for check in digest_checks(reader.volumes(), digests, report.namespaces) + databases:
                        _record(report, check)
            except SalvageError as exc:  # a damaged backup, a refused restore: the drill's finding
                report.failed(exc.message)
            clock.stop()
            if report.phase != "Failed":
                report.phase = "Passed"
                report.recovery_time_seconds = round(time.monotonic() - started, 2)
        except BaseException as exc:  # Ctrl-C, or a bug: clean up and keep the report, then re-raise
            clock.stop()
            report.failed(f"interrupted: {type(exc).__name__} {exc}".rstrip())
            _finish(client, location, report, request, progress)
            raise
        _finish(client, location, report, request, progress)
    return report


def _finish(client: KubeClient, location: Location, report: DrillReport, request: DrillRequest,
            progress: Progress) -> None:
    _clean_up(client, report, request, progress)
    report.completed = _now()
    _store(location, report)


def _remove_abandoned(client: KubeClient, request: DrillRequest, progress: Progress) -> None:
    """Before a drill starts: remove the scratch namespaces that an earlier drill of the same
    backup, run by the same owner, left when it was killed; say which are left and why."""
    try:
        found = [s for s in drill_scratch.list_scratch(client)
                 if s.backup == request.backup and s.owner == request.owner]
    except KubernetesError as exc:  # no right to list namespaces: nothing to sweep from here
        progress(Logged("warning", f"could not look for namespaces a killed drill left: {exc.message}"))
        return
    abandoned = [s for s in found if s.abandoned()]
    if abandoned:
        names = ", ".join(s.namespace for s in abandoned)
        progress(Step(f"removing namespaces {names}, left by an earlier drill of backup {request.backup} "
                      "that was stopped"))
        problems = drill_scratch.remove_scratch(client, [s.namespace for s in abandoned])
        for s in abandoned:
            progress(Logged("warning", f"removed namespace {s.namespace}, left by drill {s.drill} "
                                       f"({s.runner or 'unknown runner'}), which was stopped mid-drill"))
        for problem in problems:
            progress(Logged("warning", f"clean-up of an earlier drill: {problem}"))
    for s in found:
        if s.kept:
            progress(Logged("warning", f"namespace {s.namespace} was kept by drill {s.drill} for a look "
                                       f"(--keep-on-failure); remove it with `kubectl delete namespace "
                                       f"{s.namespace}`"))
        elif s not in abandoned:
            again = f"`salvage drill run --from-backup {request.backup}`" if not request.owner \
                else f"the next drill of {request.owner}"
            progress(Logged("warning", f"namespace {s.namespace} belongs to drill {s.drill} ({s.runner}), "
                                       "which may still be running, so it stays; if that drill was stopped, "
                                       f"{again} after {s.stale_at():%H:%M:%S} UTC removes it"))


# -- phases --------------------------------------------------------------------------------------

class _Phases:
    """Seconds per phase, in the report as each ends."""

    def __init__(self, report: DrillReport) -> None:
        self.report, self.current, self.since = report, "", time.monotonic()

    def start(self, phase: str, progress: Progress) -> None:
        self.stop()
        self.current, self.since = phase, time.monotonic()
        progress(Step(f"drill {self.report.name}: {phase}"))

    def stop(self) -> None:
        if self.current:
            self.report.phases[self.current] = round(time.monotonic() - self.since, 2)
            self.current = ""


def _restore(client: KubeClient, location: Location, reader: BackupReader, request: DrillRequest,
             report: DrillReport, progress: Progress,
             digests: dict[tuple[str, str], VolumeDigest], runner: str) -> list[ItemResult]:
    """Restore into the scratch namespaces. The phases are told apart by the restore's own
    progress: it checks every volume's data (each pack of fs volumes hashed) before its
    first item, which belongs to the verify phase, and restores claims, with their data,
    before the objects that use them (volumes, then objects)."""
    items: list[ItemResult] = []
    marks: dict[str, float] = {}

    def seen(event: Event) -> None:
        if isinstance(event, Item):
            now = time.monotonic()
            marks.setdefault("first", now)
            if event.resource == "persistentvolumeclaims":
                marks["volumes"] = now
        if isinstance(event, VolumeDigest):  # each filled volume read back (repo/digest.py)
            digests[(event.namespace, event.pvc)] = event
        progress(event)

    progress(Step(f"drill {report.name}: restoring backup {request.backup} into "
                  + ", ".join(f"{a} -> {b}" for a, b in report.namespaces.items())))
    labels, annotations = drill_scratch.marks(report.name, request.backup, request.owner, runner)
    restore = RestoreRequest(
        name=report.name, backup=request.backup, namespace_map=dict(report.namespaces), wait=False,
        namespace_labels=labels, namespace_annotations=annotations,
        selection=Selection(exclude_resources=_cluster_scoped(reader)), verified=True,
        timeout=request.timeout, verify_data=True, check_digests=True, repo_password=request.repo_password,
        aws=request.aws, gce=request.gce)
    began = time.monotonic()
    try:
        result = restore_backup(client, location, restore, seen, items.append)
    finally:
        end = time.monotonic()
        first = marks.get("first", end)
        volumes_done = marks.get("volumes", first)
        report.phases["verify"] = round(report.phases.get("verify", 0.0) + first - began, 2)
        report.phases.update(volumes=round(volumes_done - first, 2), objects=round(end - volumes_done, 2))
    report.counts = dict(result.counts)
    report.errors.extend(result.errors)
    if result.phase != "Completed":
        report.failed(f"the restore ended {result.phase}")
    return items


def _wait_ready(client: KubeClient, report: DrillReport, timeout: float) -> None:
    """Every workload ready and every claim Bound (but those whose class binds them only for
    a first consumer, which may rightly have none), by one deadline."""
    deadline = time.monotonic() + timeout
    for scratch in report.namespaces.values():
        for api, resource, kind, field_name in _WORKLOADS:
            group = api_version_path(api)
            for obj in client.list(api_path(group, resource, scratch)):
                if resource == "replicasets" and obj["metadata"].get("ownerReferences"):
                    continue  # a Deployment's: waited for through the Deployment
                name = obj["metadata"]["name"]
                try:
                    wait_for(client, api_path(group, resource, scratch, name),
                             lambda o, f=field_name: o is not None and replicas_ready(o, f), deadline, f"{kind} {name}")
                except NotReadyError:
                    report.failed(f"{kind} {scratch}/{name} was not ready within "
                                  f"{timeout:.0f}s: {_pod_trouble(client, scratch)}")
                    return
        for claim in client.list(core("persistentvolumeclaims", scratch)):
            name = claim["metadata"]["name"]
            if binds_on_first_use(client, claim):
                continue
            try:
                wait_for(client, core("persistentvolumeclaims", scratch, name), is_bound, deadline, f"claim {name}")
            except NotReadyError:
                report.failed(f"PersistentVolumeClaim {scratch}/{name} was not Bound within {timeout:.0f}s")
                return


def _pod_trouble(client: KubeClient, namespace: str) -> str:
    problems = [f"pod {pod['metadata']['name']} is {status_text(pod)}"
                for pod in client.list(core("pods", namespace)) if not is_ready(pod)]
    return "; ".join(problems) or "no pod says why"


# -- checks --------------------------------------------------------------------------------------

def _checks(client: KubeClient, report: DrillReport, items: list[ItemResult], request: DrillRequest) -> None:
    failed = [i for i in items if i.action == "failed"]
    unexplained = [i for i in items if i.action == "skipped" and not i.reason]
    detail = f"{sum(1 for i in items if i.action == 'created')} created, " \
             f"{sum(1 for i in items if i.action == 'skipped')} skipped with a reason"
    if failed or unexplained:
        detail = "; ".join([f"{i.resource} {i.namespace or ''}/{i.name} failed: {i.reason}" for i in failed]
                           + [f"{i.resource} {i.namespace or ''}/{i.name} skipped without a reason"
                              for i in unexplained])
    _record(report, Check("objects", not failed and not unexplained, detail))
    if request.verify_command:
        pods = _pods_to_verify(client, report, request.verify_selector)
        if not pods:
            _record(report, Check("verify-command", False, "no Running pod to run it in"))
        for namespace, pod in pods:
            _record(report, _verify(client, namespace, pod, request))


def _pods_to_verify(client: KubeClient, report: DrillReport, selector: str | None) -> list[tuple[str, str]]:
    found = []
    for scratch in report.namespaces.values():
        params = {"labelSelector": selector} if selector else {}
        for pod in client.list(core("pods", scratch), **params):
            owned = pod["metadata"].get("ownerReferences")
            if (pod.get("status") or {}).get("phase") == "Running" and (selector or owned):
                found.append((scratch, pod["metadata"]["name"]))
    return sorted(found)


def _verify(client: KubeClient, namespace: str, pod: str, request: DrillRequest) -> Check:
    name = f"verify-command {namespace}/{pod}"
    try:
        result = exec_in_pod(client, namespace, pod, list(request.verify_command),
                             container=request.verify_container, timeout=request.timeout)
    except KubernetesError as exc:
        return Check(name, False, exc.message)
    output = (result.stdout + result.stderr).strip().splitlines()
    tail = " | ".join(output[-3:])
    if result.ok:
        return Check(name, True, tail)
    why = result.message or f"exit code {result.exit_code}"
    return Check(name, False, f"{why}" + (f": {tail}" if tail else ""))


def _record(report: DrillReport, check: Check) -> None:
    report.checks.append(check)
    if not check.passed:
        report.failed(f"check {check.name} failed: {check.detail}")


# -- clean-up ------------------------------------------------------------------------------------

def _clean_up(client: KubeClient, report: DrillReport, request: DrillRequest, progress: Progress) -> None:
    """Remove the scratch namespaces, then any volume still bound to a claim in them. A
    failed drill's are kept only when asked (``keep_on_failure``), and marked kept."""
    scratch = sorted(set(report.namespaces.values()))
    if report.phase == "Failed" and request.keep_on_failure:
        drill_scratch.keep(client, scratch)
        report.cleanup.append("kept for a look (--keep-on-failure): namespaces " + ", ".join(scratch))
        return
    progress(Step(f"drill {report.name}: removing namespaces {', '.join(scratch)}"))
    report.cleanup.extend(drill_scratch.remove_scratch(client, scratch))


# -- reports -------------------------------------------------------------------------------------

def _store(location: Location, report: DrillReport) -> None:
    """Written once: beside the backup on the location, or on this machine when the location
    is ReadOnly (or the write fails: the report is never lost)."""
    body = json.dumps(report.to_json(), indent=1).encode()
    if not location.spec.read_only:
        key = layout.drill(report.backup, report.name)
        try:
            location.store.put(key, body)
            report.stored_at = f"{location.name}:{key}"
            return
        except Exception as exc:  # noqa: BLE001 - kept locally instead, and said so
            report.errors.append(f"could not write the report to location {location.name}: {exc}")
    path = _local_dir() / f"{report.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report.stored_at = str(path)
    path.write_text(json.dumps(report.to_json(), indent=1))


def list_drills(location: Location) -> list[dict[str, Any]]:
    """Every drill report: on the location (beside each backup) and kept on this machine."""
    reports = []
    for info in location.store.list(f"{layout.ROOT}/"):
        if layout.is_drill(info.key):
            reports.append(json.loads(location.store.get(info.key)))
    if _local_dir().exists():
        reports += [json.loads(p.read_text()) for p in _local_dir().glob("*.json")]
    unique = {r["name"]: r for r in reports}
    return sorted(unique.values(), key=lambda r: r.get("started") or "")


def load_drill(location: Location, name: str) -> dict[str, Any]:
    local = _local_dir() / f"{name}.json"
    if local.exists():
        return dict(json.loads(local.read_text()))
    for report in list_drills(location):
        if report["name"] == name:
            return report
    raise NotFoundError(f"There is no drill named {name!r} on location {location.name!r} or on this machine.",
                        hint="List drills with `salvage drill get`.")


def prune_reports(location: Location, owner: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` reports of ``owner`` (a Drill resource's), on the
    location and on this machine; returns the names deleted."""
    mine = [r for r in list_drills(location) if r.get("owner") == owner]
    gone = sorted(mine, key=lambda r: r.get("started") or "")[:max(0, len(mine) - keep)]
    for report in gone:
        local = _local_dir() / f"{report['name']}.json"
        if local.exists():
            local.unlink()
        elif not location.spec.read_only:
            location.store.delete(layout.drill(report["backup"], report["name"]))
    return [r["name"] for r in gone]


def _local_dir() -> Path:
    return data_dir() / "drills"


def drilled_backup(location: Location, backup: str | None, schedule: str | None) -> str:
    """The backup a drill restores: ``backup`` when named, else the newest Completed one
    ``schedule`` made (`drill run --from-backup|--schedule`, a Drill's backupName|scheduleName)."""
    return backup or newest_completed(location, schedule or "")


def newest_completed(location: Location, schedule: str) -> str:
    """The newest Completed backup a Schedule made (by its label), for ``drill run --schedule``."""
    selector = schedule_selector(schedule)
    made = [b for b in list_backups(location.store)
            if b.phase == "Completed" and label_selector_matches(b.labels, selector)]
    if not made:
        raise NotFoundError(f"Schedule {schedule!r} has no Completed backup on location {location.name!r}.",
                            hint=f"List its backups with `salvage backup get -l {selector}`.")
    return max(made, key=lambda b: b.started or "").name


# -- names and times -----------------------------------------------------------------------------

def _namespaces(reader: BackupReader) -> list[str]:
    found: set[str] = set()
    for entry in reader.resources():
        if entry["resource"] == "namespaces" and not entry["group"]:
            found.update(o["metadata"]["name"] for o in reader.items(entry))
        elif entry["namespaced"]:
            found.update(o["metadata"].get("namespace") or "" for o in reader.items(entry))
    found.discard("")
    return sorted(found)


def _cluster_scoped(reader: BackupReader) -> tuple[str, ...]:
    """The backup's cluster-scoped resources but namespaces: a drill restores none of them, so
    it changes nothing outside its scratch namespaces (claims get new volumes from their
    snapshots or repository data, not the backup's PersistentVolumes)."""
    return tuple(sorted({f"{e['resource']}.{e['group']}" if e["group"] else e["resource"]
                         for e in reader.resources() if not e["namespaced"] and e["resource"] != "namespaces"}))


def _scratch(namespace: str, drill_id: str) -> str:
    return namespace[:63 - len(SUFFIX) - len(drill_id)].rstrip("-") + SUFFIX + drill_id


def _name(backup: str, drill_id: str) -> str:
    return backup[:63 - len(SUFFIX) - len(drill_id)].rstrip("-.") + SUFFIX + drill_id


def _age(when: str | None) -> float | None:
    if not when:
        return None
    then = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    return round((dt.datetime.now(dt.timezone.utc) - then).total_seconds(), 1)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


