"""The invariants every fault run must keep, checked after the run (issue 20).

- A backup listed Completed restores byte for byte (volume digest and user objects).
- A backup whose run failed is never Completed; one whose run was killed is Incomplete or
  Failed, or (killed after its manifest was written) Completed and restores byte for byte.
- A restore either finishes with the data byte for byte, or exits non-zero with an error
  that says what happened (no traceback) and names what it created and left (or removed
  it), and never touches the backed-up namespace.
- The repository passes ``check --read-data``; a run that ended by itself leaves no lock
  (a killed one may leave only a stale lock: its pid is gone; so may one whose store
  credentials were refused, which cannot delete it); no temporary object.
- A retried run (the same command, no fault) finishes (the caller runs it and checks it).

The checker reads the location directly, never through the proxy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from salvage.catalog.reader import BackupReader, IncompleteBackupError
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.errors import NotFoundError
from salvage.repo.check import check
from salvage.repo.locks import list_locks, remove_locks
from salvage.repo.repository import Repository
from salvage.storage.errors import ObjectNotFoundError
from salvage.storage.prefixed import PrefixedStore
from tests.faults.runner import Run, salvage
from tests.integration.engines import workload

PASSWORD = "correct horse battery staple"
_TEMPORARY = (".salvage-tmp", ".tmp", ".partial")
_targets = itertools.count()


@dataclass
class Checker:
    kube: KubeClient  # direct, no proxy
    kubeconfig: Path  # direct, no proxy
    location: Location  # the same bucket as the runs', opened directly
    source_ns: str
    source_digest: str
    source_objects: dict = field(default_factory=dict)  # type: ignore[type-arg]
    restored_ok: set[str] = field(default_factory=set)  # backups already proven, not restored again

    @classmethod
    def for_namespace(cls, kube: KubeClient, kubeconfig: Path, location: Location, ns: str) -> Checker:
        return cls(kube, kubeconfig, location, ns, workload.digest_of(kube, ns), workload.comparable(kube, ns))

    # -- backups ---------------------------------------------------------------------------

    def phase(self, backup: str) -> str:
        try:
            return BackupReader(self.location.store, backup).manifest["phase"]
        except IncompleteBackupError:
            return "Incomplete"
        except (ObjectNotFoundError, NotFoundError):
            return "Absent"

    def after_backup(self, run: Run, backup: str, *, refused: bool = False) -> list[str]:
        phase = self.phase(backup)
        found: list[str] = []
        if phase == "Completed" and not run.killed and run.returncode != 0:
            found.append(f"backup {backup} is Completed but its run failed: {run.describe()}")
        if run.returncode != 0 and not run.killed and "Traceback" in run.stderr:
            found.append(f"backup {backup}'s run ended in a traceback: {run.describe()}")
        if run.returncode == 0 and phase != "Completed":
            found.append(f"backup {backup}'s run exited 0 but the backup is {phase}")
        if phase == "Completed":
            found += self.restores_identically(backup)
        found += self.repository(run, refused=refused)
        found += self.source_untouched()
        return found

    def restores_identically(self, backup: str) -> list[str]:
        if backup in self.restored_ok:
            return []
        target = f"{self.source_ns}-v{next(_targets)}"
        run = salvage(self.kubeconfig, "restore", "create", f"check-{target}", "--from-backup", backup,
                      "--location", self.location.name, "--namespace-mappings", f"{self.source_ns}:{target}",
                      env={"SALVAGE_REPO_PASSWORD": PASSWORD})
        try:
            if run.returncode != 0:
                return [f"Completed backup {backup} does not restore: {run.describe()}"]
            workload.wait_ready(self.kube, target)
            found = []
            if workload.digest_of(self.kube, target) != self.source_digest:
                found.append(f"Completed backup {backup} restores different volume data")
            if workload.comparable(self.kube, target) != self.source_objects:
                found.append(f"Completed backup {backup} restores different objects")
            if not found:
                self.restored_ok.add(backup)
            return found
        finally:
            self.kube.delete_if_present(f"/api/v1/namespaces/{target}")

    # -- restores --------------------------------------------------------------------------

    def after_restore(self, run: Run, target: str, *, refused: bool = False) -> list[str]:
        found: list[str] = []
        if run.returncode == 0:
            try:
                workload.wait_ready(self.kube, target)
                if workload.digest_of(self.kube, target) != self.source_digest:
                    found.append(f"restore into {target} exited 0 with different volume data")
                if workload.comparable(self.kube, target) != self.source_objects:
                    found.append(f"restore into {target} exited 0 with different objects")
            except AssertionError as exc:
                found.append(f"restore into {target} exited 0 but is not whole: {exc}")
        elif not run.killed:
            said = " ".join(run.stderr.split())
            if "Traceback" in run.stderr or not said:
                found.append(f"restore into {target} failed without saying why: {run.describe()}")
            if self.kube.exists(f"/api/v1/namespaces/{target}") and f"Namespace {target}" not in said:
                found.append(f"restore into {target} failed and left the namespace without naming what it "
                             f"created: {run.describe()}")
        found += self.repository(run, refused=refused)
        found += self.source_untouched()
        return found

    # -- shared ----------------------------------------------------------------------------

    def source_untouched(self) -> list[str]:
        found = []
        if workload.digest_of(self.kube, self.source_ns) != self.source_digest:
            found.append(f"the backed-up namespace {self.source_ns}'s volume data changed")
        if workload.comparable(self.kube, self.source_ns) != self.source_objects:
            found.append(f"the backed-up namespace {self.source_ns}'s objects changed")
        return found

    def repository(self, run: Run, *, refused: bool = False) -> list[str]:
        """``refused``: the run's store credentials were taken away mid-run, so it could not
        delete its own lock; that lock must be stale (its process gone) as a killed run's."""
        store = self.location.store
        cut_off = run.killed or (refused and not run.finished)
        found = [f"temporary object left: {info.key}" for info in store.list("")
                 if info.key.endswith(_TEMPORARY)]
        try:
            repo = Repository.open(PrefixedStore(store, "repository"), PASSWORD, read_only=True)
        except ObjectNotFoundError:
            return found
        except Exception as exc:  # noqa: BLE001 - a repository that does not open is a violation
            if "no repository" in str(exc):
                return found
            return [*found, f"the repository does not open: {exc}"]
        report = check(repo, read_data=True)
        found += [f"repository check: {error}" for error in report.errors]
        for lock in list_locks(repo):
            if not cut_off:
                found.append(f"lock left by a run that ended by itself: {lock.describe()}")
            elif not lock.is_stale():
                found.append(f"a run cut off left a lock that is not stale: {lock.describe()}")
        if cut_off:  # as `salvage repo unlock` would: the next run's check starts clean
            remove_locks(Repository.open(PrefixedStore(store, "repository"), PASSWORD, load_index=False))
        return found
