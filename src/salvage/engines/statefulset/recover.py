"""``statefulset recover``: a StatefulSet and its volumes back from a source (seed 000): a
backup, or VolumeSnapshots already in the namespace (``source.py``).

Order: read the source, observe the cluster, plan (``--dry-run`` stops here; every bad
input is refused before anything changes), let go of the claims being replaced (the
StatefulSet is deleted with its pods orphaned, and only the affected pods removed), remove
dangling claims and volumes, create each claim from its source under the name the claim
template expects, fill those whose files come from a repository, then create the
StatefulSet, which adopts them, and wait for its pods.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salvage.engines.rollback import DATA_ERRORS, Creations
from salvage.engines.sanitize import sanitize
from salvage.engines.statefulset import workload_state as kube
from salvage.engines.statefulset.manifests import claim_from_template, creatable
from salvage.engines.statefulset.naming import (
    claim_name,
    claim_templates,
    format_ordinals,
    pod_name,
    replicas_of,
)
from salvage.engines.statefulset.plan import (
    Action,
    ClaimObservation,
    ClaimStep,
    decide,
    statefulset_action,
)
from salvage.engines.statefulset.backup_source import BackupSource
from salvage.engines.statefulset.snapshot_source import SnapshotSource
from salvage.engines.statefulset.source import ClaimVolume, RecoverySource
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from salvage.k8s.waits import delete_and_wait, wait_until
from salvage.locations import Location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import (
    KubernetesError,
    NotFoundError,
    NotReadyError,
    SalvageError,
    UsageError,
)
from salvage.model.progress import Progress, Step, quiet
from salvage.volumes.presence import volume_presence
from salvage.volumes.method import ClaimSource, fill_finished, half_filled, mark_filling



class RecoverError(SalvageError):
    """The StatefulSet cannot be recovered as asked; nothing was changed."""


@dataclass(frozen=True)
class RecoverRequest:
    statefulset: str
    namespace: str  # recovered into (a backup may hold it under another)
    manifest: dict[str, Any] | None = None  # the user's own StatefulSet, used as written
    ordinals: tuple[int, ...] | None = None
    force: bool = False
    dry_run: bool = False
    timeout: float = 300.0
    # Run in each recovered pod once it is Running (e.g. print the log's last line).
    verify_command: tuple[str, ...] = ()
    verify_container: str | None = None
    # Where to ask EC2 whether a dangling PV's EBS disk is gone (None: the usual AWS chain).
    aws: AwsSettings | None = None
    gce: GceSettings | None = None
    azure: AzureSettings | None = None
    # When damaged backup data stops the recovery, keep the claims it created (else removed).
    keep_partial: bool = False


@dataclass(frozen=True)
class RecoverPlan:
    statefulset: str
    namespace: str
    source: str  # the source's description: "backup 'nightly'", "VolumeSnapshots labelled app=web"
    replicas: int
    ordinals: tuple[int, ...]
    statefulset_action: str  # create | re-create | keep
    service: str | None      # the governing Service, when it is missing and the source has it
    steps: tuple[ClaimStep, ...]


@dataclass
class RecoverReport:
    plan: RecoverPlan
    dry_run: bool
    phase: str = "Planned"
    pods: list[str] = field(default_factory=list)
    seconds: float = 0.0
    verifications: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        p = self.plan
        return {
            "statefulset": p.statefulset, "namespace": p.namespace, "source": p.source, "replicas": p.replicas,
            "ordinals": list(p.ordinals), "statefulsetAction": p.statefulset_action, "service": p.service,
            "verifications": self.verifications, "warnings": self.warnings,
            "phase": self.phase, "dryRun": self.dry_run, "pods": self.pods, "seconds": round(self.seconds, 3),
            "claims": [{"ordinal": s.ordinal, "claim": s.claim, "action": s.action.value, "reason": s.reason,
                        "removeClaim": s.remove_claim, "removeVolume": s.remove_volume, "source": s.source}
                       for s in p.steps],
        }


def recover_statefulset(client: KubeClient, source: RecoverySource, request: RecoverRequest,
                        progress: Progress = quiet) -> RecoverReport:
    started = time.monotonic()
    statefulset = source.statefulset(request.manifest)
    _check_manifest(request)
    _check_namespace(client, request.namespace)
    volumes = _volumes(source, request, statefulset)
    plan = _plan(client, source, request, statefulset, volumes)
    source.check(volumes[s.claim] for s in plan.steps if s.changes)
    report = RecoverReport(plan, request.dry_run)
    if request.dry_run:
        return report
    report.warnings = _Run(client, source, request, plan, statefulset, volumes, progress).execute()
    report.pods = [pod_name(plan.statefulset, o) for o in range(plan.replicas)]
    report.phase = "Completed"
    if request.verify_command:
        report.verifications = _verify(client, request, plan, progress)
        if any(v["exitCode"] != 0 or v["message"] for v in report.verifications):
            report.phase = "VerificationFailed"
    report.seconds = time.monotonic() - started
    return report


def _verify(client: KubeClient, request: RecoverRequest, plan: RecoverPlan,
            progress: Progress) -> list[dict[str, Any]]:
    """Run the user's check in each recovered pod through the exec subresource."""
    results = []
    for ordinal in plan.ordinals:
        pod = pod_name(plan.statefulset, ordinal)
        progress(Step(f"verifying {pod}: {' '.join(request.verify_command)}"))
        try:
            outcome = exec_in_pod(client, plan.namespace, pod, list(request.verify_command),
                                  container=request.verify_container, timeout=min(request.timeout, 60.0))
            results.append({"pod": pod, "exitCode": outcome.exit_code, "stdout": outcome.stdout,
                            "stderr": outcome.stderr, "message": outcome.message})
        except KubernetesError as exc:
            results.append({"pod": pod, "exitCode": None, "stdout": "", "stderr": "", "message": exc.message})
    return results


def _check_manifest(request: RecoverRequest) -> None:
    if request.manifest is None:
        return
    meta = request.manifest.get("metadata") or {}
    if request.manifest.get("kind") != "StatefulSet" or meta.get("name") != request.statefulset:
        raise UsageError(f"The manifest is not StatefulSet {request.statefulset!r}; nothing was changed.",
                         hint="Pass the file that defines this StatefulSet with --manifest.")
    if meta.get("namespace") not in (None, request.namespace):
        raise UsageError(f"The manifest's StatefulSet is in namespace {meta['namespace']}, "
                         f"not {request.namespace}; nothing was changed.", hint="Pass -n to match it.")


def _check_namespace(client: KubeClient, namespace: str) -> None:
    if client.find(core("namespaces", None, namespace)) is None:
        raise NotFoundError(f"Namespace {namespace} does not exist; nothing was changed.",
                            hint=f"Create it first (`kubectl create namespace {namespace}`), or pass another -n.")


def _volumes(source: RecoverySource, request: RecoverRequest, statefulset: dict[str, Any]) -> dict[str, ClaimVolume]:
    """The source's data for every claim to recover; refuses when any is missing."""
    name, replicas = request.statefulset, replicas_of(statefulset)
    templates = claim_templates(statefulset)
    if not templates:
        raise RecoverError(f"StatefulSet {request.namespace}/{name} has no volumeClaimTemplates; "
                           "it has no volumes to recover.", hint="Restore it with `salvage restore create`.")
    ordinals = request.ordinals if request.ordinals is not None else tuple(range(replicas))
    beyond = [o for o in ordinals if o >= replicas]
    if beyond:
        raise UsageError(f"StatefulSet {name} has {replicas} replica(s); there is no ordinal "
                         f"{format_ordinals(beyond)}.", hint=f"Choose ordinals below {replicas}.")
    found = source.volumes(statefulset, ordinals)
    captured = {o for o in ordinals if all(claim_name(t, name, o) in found for t in templates)}
    missing = [o for o in ordinals if o not in captured]
    if missing:
        offer = f"Recover the ordinals it has with --ordinals {format_ordinals(sorted(captured))}." if captured \
            else "Name a snapshot for each ordinal."
        absent = [claim_name(t, name, o) for o in missing for t in templates if claim_name(t, name, o) not in found]
        raise RecoverError(
            f"There are snapshots for ordinal(s) {format_ordinals(sorted(captured)) or 'none'} of StatefulSet "
            f"{request.namespace}/{name} ({replicas} replicas) in {source.description}, but not for "
            f"{format_ordinals(missing)} (claim(s) {', '.join(absent)}); nothing was changed.", hint=offer)
    return found


def _plan(client: KubeClient, source: RecoverySource, request: RecoverRequest, statefulset: dict[str, Any],
          volumes: dict[str, ClaimVolume]) -> RecoverPlan:
    ns, name = request.namespace, request.statefulset
    replicas = replicas_of(statefulset)
    ordinals = request.ordinals if request.ordinals is not None else tuple(range(replicas))
    leftovers = _volumes_by_claim(client, ns)
    steps = []
    for ordinal in ordinals:
        for template in claim_templates(statefulset):
            claim = claim_name(template, name, ordinal)
            seen = _observe(client, ns, ordinal, claim, leftovers.get(claim), request.aws, request.gce, request.azure)
            steps.append(decide(seen, force=request.force, source=volumes[claim].origin))
    blocked = [s for s in steps if s.action is Action.BLOCKED]
    if blocked:
        raise RecoverError(
            "Cannot recover: " + "; ".join(f"claim {s.claim}: {s.reason}" for s in blocked) + "; nothing was changed.",
            hint="Check those volumes; if their data is truly gone, run again with --force "
                 "(a volume whose data exists is never removed).")
    exists = client.find(kube.statefulset_path(ns, name)) is not None
    return RecoverPlan(name, ns, source.description, replicas, tuple(ordinals), statefulset_action(exists, steps),
                       _missing_service(client, source, ns, statefulset), tuple(steps))


def _volumes_by_claim(client: KubeClient, ns: str) -> dict[str, dict[str, Any]]:
    """PVs whose claimRef names a claim in ``ns``: a claim's old volume outlives the claim."""
    out = {}
    for pv in client.list(core("persistentvolumes")):
        ref = pv.get("spec", {}).get("claimRef") or {}
        if ref.get("namespace") == ns and ref.get("name"):
            out[ref["name"]] = pv
    return out


def _observe(client: KubeClient, ns: str, ordinal: int, claim: str, old: dict[str, Any] | None,
             aws: AwsSettings | None, gce: GceSettings | None, azure: AzureSettings | None) -> ClaimObservation:
    pvc = client.find(kube.claim_path(ns, claim))
    if pvc is None:
        if old is None:
            return ClaimObservation(ordinal, claim)
        return ClaimObservation(ordinal, claim, leftover_volume=old["metadata"]["name"],
                                leftover_presence=volume_presence(old, aws, gce, azure))
    phase = pvc.get("status", {}).get("phase") or "Pending"
    volume = pvc["spec"].get("volumeName")
    pv = client.find(core("persistentvolumes", None, volume)) if volume else None
    return ClaimObservation(ordinal, claim, phase, bool(pvc["metadata"].get("deletionTimestamp")), volume,
                            pv is not None, volume_presence(pv, aws, gce, azure) if pv else None,
                            half_filled=half_filled(pvc))


def _missing_service(client: KubeClient, source: RecoverySource, ns: str, statefulset: dict[str, Any]) -> str | None:
    service = statefulset.get("spec", {}).get("serviceName")
    if not service or client.find(core("services", ns, service)) is not None:
        return None
    return service if source.service(service) else None


class _Run:
    def __init__(self, client: KubeClient, source: RecoverySource, request: RecoverRequest, plan: RecoverPlan,
                 statefulset: dict[str, Any], volumes: dict[str, ClaimVolume], progress: Progress) -> None:
        self.client, self.request, self.plan, self.progress = client, request, plan, progress
        self.source, self.statefulset, self.volumes = source, statefulset, volumes
        self.deadline = time.monotonic() + request.timeout
        self.ns = request.namespace
        self.sources: list[tuple[str, ClaimSource]] = []
        self.warnings: list[str] = []
        self.created = Creations()

    def execute(self) -> list[str]:
        """Make the changes the plan names; returns warnings (data was restored, some metadata not)."""
        changing = [s for s in self.plan.steps if s.changes]
        if self.plan.statefulset_action == "re-create":
            self._let_go(sorted({s.ordinal for s in changing}))
        for step in changing:
            self._remove_dangling(step)
        for step in changing:
            self._create_claim(step)
        # Only claims whose files are restored must be bound before the pods start; the others
        # bind when their pod is scheduled (a WaitForFirstConsumer class binds no sooner).
        to_fill = [(claim, source) for claim, source in self.sources if source.fill is not None]
        if to_fill:
            claims = [claim for claim, _ in to_fill]
            self._say(f"waiting for {len(claims)} claim(s) to be bound, to restore their files")
            self._wait(lambda: all(self._bound(c) for c in claims), "the recovered claims to be bound", claims=claims)
        for claim, source in to_fill:
            try:
                self._fill(claim, source)
            except DATA_ERRORS as exc:
                self._stop(claim, exc.message)
            except SalvageError as exc:  # the location failed mid-read: half a claim is no recovery
                self._stop(claim, exc.message, unreadable=True)
        if self.plan.service:
            self._create_service()
        if self.plan.statefulset_action != "keep":
            self._say(f"creating StatefulSet {self.ns}/{self.plan.statefulset}")
            self.client.create(kube.statefulset_path(self.ns), creatable(self.statefulset, self.ns))
        self._say(f"waiting for {self.plan.replicas} pod(s) of {self.plan.statefulset} to be Running")
        self._wait(lambda: kube.pods_running(self.client, self.ns, self.plan.statefulset, self.plan.replicas),
                   f"the pods of StatefulSet {self.ns}/{self.plan.statefulset} to be Running")
        for _claim, source in self.sources:  # once every claim is bound: a claim binds from its source
            source.release()
        return self.warnings

    def _let_go(self, ordinals: list[int]) -> None:
        """Delete the StatefulSet but keep its pods (orphaned), then delete only the pods of
        the ordinals being recovered: the others keep running and are adopted again."""
        name = self.plan.statefulset
        self._say(f"deleting StatefulSet {self.ns}/{name} (its pods are kept) and pod(s) of ordinal(s) "
                  f"{format_ordinals(ordinals)}")
        delete_and_wait(self.client, kube.statefulset_path(self.ns, name), self.deadline,
                             f"StatefulSet {name}", propagationPolicy="Orphan")
        for ordinal in ordinals:
            delete_and_wait(self.client, kube.pod_path(self.ns, pod_name(name, ordinal)), self.deadline,
                                 f"pod {pod_name(name, ordinal)}")

    def _remove_dangling(self, step: ClaimStep) -> None:
        if step.remove_claim:
            self._say(f"removing dangling claim {step.claim}")
            delete_and_wait(self.client, kube.claim_path(self.ns, step.claim), self.deadline,
                                 f"claim {step.claim}")
        if step.remove_volume:
            self._say(f"removing dangling PV {step.remove_volume}")
            delete_and_wait(self.client, core("persistentvolumes", None, step.remove_volume), self.deadline,
                                 f"PV {step.remove_volume}")

    def _create_claim(self, step: ClaimStep) -> str:
        self._say(f"claim {step.claim}: {step.source}")
        template = next(t for t in claim_templates(self.statefulset)
                        if claim_name(t, self.plan.statefulset, step.ordinal) == step.claim)
        body = claim_from_template(creatable(self.statefulset, self.ns), template, step.claim, self.ns)
        source = self.source.prepare(self.volumes[step.claim], body, self.ns,
                                     timeout=max(1.0, self.deadline - time.monotonic()))
        self.sources.append((step.claim, source))
        source.shape(body["spec"])
        if source.fill is not None:
            mark_filling(body, self.volumes[step.claim].origin)
        self.client.create(kube.claim_path(self.ns), body)
        self.created.add(kube.claim_path(self.ns, step.claim), f"PersistentVolumeClaim {self.ns}/{step.claim}")
        return step.claim

    def _fill(self, claim: str, source: ClaimSource) -> None:
        if source.fill is None:
            return
        self._say(f"claim {claim}: restoring its files")
        volume = self.client.get(kube.claim_path(self.ns, claim))["spec"]["volumeName"]
        pv = self.client.get(core("persistentvolumes", None, volume))
        if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":  # goes with the claim
            self.created.add(core("persistentvolumes", None, volume), f"PersistentVolume {volume}", delete=False)
        self.warnings += source.fill(pv)
        fill_finished(self.client, kube.claim_path(self.ns, claim))

    def _stop(self, claim: str, damage: str, *, unreadable: bool = False) -> None:
        """Damaged data in the backup, or data the location failed to deliver (``unreadable``):
        create nothing more, remove the claims this run created (unless kept), and say what
        had changed before. A half-filled claim left behind would look whole to the next run."""
        for _claim, source in self.sources:
            try:
                source.release()
            except KubernetesError:
                pass  # temporary snapshot objects: named by owner, removed by the next run
        if self.request.keep_partial:
            outcome = f"Kept (--keep-partial): {', '.join(self.created.labels())}."
        else:
            self._say(f"{'unreadable' if unreadable else 'damaged'} backup data: removing the claims this "
                      "recovery created")
            result = self.created.roll_back(self.client, timeout=min(self.request.timeout, 120.0))
            outcome = f"Removed what this recovery had created: {', '.join(result.removed) or 'nothing'}."
            if result.remaining:
                outcome += f" Not removed: {', '.join(result.remaining)}."
        before = ""
        if self.plan.statefulset_action == "re-create":
            before = (f" StatefulSet {self.ns}/{self.plan.statefulset} had been deleted to recover it (the pods of "
                      "other ordinals keep running); it was not re-created.")
        if unreadable:
            raise RecoverError(
                f"The files of claim {self.ns}/{claim} could not be read from {self.plan.source}: {damage}\n"
                f"{outcome}{before}",
                hint="Check that the location is reachable (`salvage location check`), then run the recovery again.")
        raise RecoverError(
            f"The files of claim {self.ns}/{claim} are damaged in {self.plan.source}: {damage}\n{outcome}{before}",
            hint="Run `salvage repo check --read-data` on the location's repository; recover from another backup "
                 "(`--verify-data` checks every byte before the first change).")

    def _create_service(self) -> None:
        service = self.source.service(self.plan.service or "")
        if service is None:
            return
        self._say(f"creating Service {self.ns}/{self.plan.service} from {self.plan.source}")
        body = sanitize(service, namespace_map={}, class_map={})
        body["metadata"]["namespace"] = self.ns
        self.client.create(core("services", self.ns), body)

    def _bound(self, claim: str) -> bool:
        pvc = self.client.find(kube.claim_path(self.ns, claim))
        return bool(pvc and pvc.get("status", {}).get("phase") == "Bound")

    def _wait(self, condition: Callable[[], bool], what: str, claims: list[str] | None = None) -> None:
        try:
            wait_until(condition, self.deadline, what)
        except NotReadyError as exc:
            trouble = kube.claim_trouble(self.client, self.ns, claims or [s.claim for s in self.plan.steps])
            if claims is None:
                pods = kube.pod_trouble(self.client, self.ns, self.plan.statefulset, self.plan.replicas)
                trouble = "; ".join(t for t in (trouble, pods) if t)
            raise NotReadyError(
                f"{exc.message[:-1]} within {self.request.timeout:.0f}s" + (f": {trouble}." if trouble else "."),
                hint=f"Look with `kubectl describe pvc -n {self.ns}` and `kubectl get pods -n {self.ns}`; "
                     "run recover again once fixed (it keeps what is already recovered).") from None

    def _say(self, message: str) -> None:
        self.progress(Step(message))


@dataclass(frozen=True)
class RecoverFrom:
    """Where recover takes the volumes' data from: exactly one of a backup (``backup``), named
    VolumeSnapshots in the namespace (``snapshots``: ``snap-a,snap-b`` in ordinal order, or
    ``CLAIM=SNAPSHOT,...``), or the newest ready VolumeSnapshot of each claim with labels
    ``snapshot_selector``. The flags named in errors are the CLI's spelling of these fields."""
    backup: str | None = None
    snapshots: str | None = None
    snapshot_selector: str | None = None
    backup_namespace: str | None = None  # the StatefulSet's namespace in the backup (default: recovered into)
    verify_data: bool = False  # read every pack the fs volumes need before any change
    repo_password: str | None = field(default=None, repr=False)

    def check(self) -> None:
        """Refuse a request that names no source, several, or options of another source."""
        chosen = [flag for flag, value in (("--from-backup", self.backup), ("--from-snapshots", self.snapshots),
                                           ("--snapshot-selector", self.snapshot_selector)) if value]
        if len(chosen) != 1:
            raise UsageError(f"Recover from where? Pass exactly one of --from-backup, --from-snapshots and "
                             f"--snapshot-selector{' (not ' + ' and '.join(chosen) + ')' if chosen else ''}.",
                             hint="List backups with `salvage backup get`, snapshots with "
                                  "`kubectl get volumesnapshots`.")
        if self.backup_namespace and not self.backup:
            raise UsageError("--backup-namespace goes with --from-backup.")
        if self.verify_data and not self.backup:
            raise UsageError("--verify-data goes with --from-backup (VolumeSnapshots hold no repository data).")


def recovery_source(client: KubeClient, source: RecoverFrom, request: RecoverRequest,
                    location: Callable[[], Location], progress: Progress = quiet) -> RecoverySource:
    """The :class:`RecoverySource` for ``source`` (checked first): a verified backup on the
    location ``location()`` opens (only a backup needs one), or the namespace's VolumeSnapshots."""
    source.check()
    if source.backup:
        return BackupSource(client, location(), source.backup, source.backup_namespace or request.namespace,
                            request.statefulset, repo_password=source.repo_password, aws=request.aws,
                            gce=request.gce, azure=request.azure, verify_data=source.verify_data,
                            progress=progress)
    return SnapshotSource(client, request.namespace, request.statefulset, snapshots=source.snapshots,
                          selector=source.snapshot_selector)
