"""SIGKILLs of the operator (``salvage operator run``, a process against the kwok cluster)
at seeded random points of a Backup of seed 001's namespace with an ``fs`` volume; the next
operator process (the Lease expires after 3 s) settles the Backup. The checker then holds
the location to the same invariants as a killed ``backup create``, and the Backup object
to its manifest: Completed only when the manifest is (and the backup restores byte for
byte), else Failed with the reason. After the kills, a Backup must complete.

The operator in a real pod killed mid-backup is tests/integration/operator/
test_operator_in_cluster.py (one kill: the pod is slow to replace).
"""

from __future__ import annotations

import base64
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.faults.cases import record, seeds
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import Run, salvage
from tests.support.builders import namespace
from tests.support.operator import create, custom, filesystem_location, install_crds, operator_process, status
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

SETTLED = ("Completed", "PartiallyFailed", "Failed")


@pytest.fixture
def operator_ns(kube: KubeClient) -> Iterator[str]:
    name = f"op-{int(time.time() * 1000) % 10**8}"
    kube.create("/api/v1/namespaces", namespace(name))
    yield name
    kube.delete_if_present(f"/api/v1/namespaces/{name}")


@pytest.fixture
def op_checker(kube: KubeClient, cluster: Any, app_ns: str, operator_ns: str, salvage_home: Path,
               tmp_path: Path) -> Checker:
    """A filesystem BackupLocation ``local`` (default) for the operator, the same directory as
    the CLI's location ``local`` for the checker, and the repository password's Secret."""
    store = tmp_path / "store"
    install_crds(kube)
    create(kube, operator_ns, filesystem_location("local", str(store)))
    kube.create(f"/api/v1/namespaces/{operator_ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo"},
        "data": {"password": base64.b64encode(PASSWORD.encode()).decode()}})
    added = salvage(cluster.kubeconfig, "location", "add", "local", "--provider", "filesystem", "--path", str(store))
    assert added.finished, added.describe()
    return Checker.for_namespace(kube, cluster.kubeconfig, open_location("local"), app_ns)


def _backup(kube: KubeClient, operator_ns: str, name: str, app: str) -> None:
    create(kube, operator_ns, custom("Backup", name, {
        "includeNamespaces": [app], "defaultVolumesToFsBackup": True,
        "repoPasswordSecret": {"name": "repo", "key": "password"}}))


@contextmanager
def _leading(cluster: Any, kube: KubeClient, operator_ns: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with operator_process(cluster, operator_ns, log) as process:
        wait_for(lambda: status(kube, operator_ns, "backuplocations", "local").get("phase") or process.poll(),
                 timeout=60, what="an operator leading (it checked the location)")
        assert process.poll() is None, log.read_text()[-2000:]
        yield process


def _settled(kube: KubeClient, operator_ns: str, name: str) -> dict[str, Any]:
    return wait_for(lambda: status(kube, operator_ns, "backups", name).get("phase") in SETTLED
                    and status(kube, operator_ns, "backups", name), timeout=120, what=f"Backup {name} settled")


def _kill_when(process: subprocess.Popen[bytes], armed: Callable[[], bool], delay: float, bound: float,
               settled: Callable[[], bool]) -> bool:
    """SIGKILL ``delay`` s after ``armed()`` first holds; True when the kill landed before the
    Backup was ``settled()`` (mid-run), False when it came after (or never came)."""
    started, armed_at = time.monotonic(), None
    while time.monotonic() - started < bound and process.poll() is None:
        if armed_at is None and armed():
            armed_at = time.monotonic()
        if armed_at is not None and time.monotonic() - armed_at >= delay:
            landed = not settled()
            process.kill()
            process.wait(timeout=10)
            return landed
        time.sleep(0.02)
    return False


def test_operator_killed_at_random_points_of_a_backup(cluster: Any, kube: KubeClient, operator_ns: str,
                                                      op_checker: Checker, tmp_path: Path) -> None:
    checker, app, log = op_checker, op_checker.source_ns, tmp_path / "operator.log"
    store = checker.location.store

    def armed(name: str) -> Callable[[], bool]:
        return lambda: any(next(iter(store.list(p)), None) is not None
                           for p in (f"backups/{name}/", "repository/locks/"))

    # The unkilled run: from its first change to its Backup settled.
    with _leading(cluster, kube, operator_ns, log):
        _backup(kube, operator_ns, "whole", app)
        wait_for(armed("whole"), timeout=60, interval=0.02, what="the backup's first write")
        first = time.monotonic()
        whole = _settled(kube, operator_ns, "whole")
        span = time.monotonic() - first
    assert whole["phase"] == "Completed", whole
    violations = checker.restores_identically("whole")
    for seed in seeds(1):
        delay = round(random.Random(f"operator/{seed}").uniform(0.0, span), 2)
        name = f"k{seed}"
        with _leading(cluster, kube, operator_ns, log) as process:
            started = time.monotonic()
            _backup(kube, operator_ns, name, app)
            killed = _kill_when(process, armed(name), delay, bound=120,
                                settled=lambda: status(kube, operator_ns, "backups", name).get("phase") in SETTLED)
            seconds = time.monotonic() - started
        with _leading(cluster, kube, operator_ns, log):  # the next operator settles it
            settled = _settled(kube, operator_ns, name)
        phase = checker.phase(name)
        run = Run(("operator", "run"), -9 if killed else 0, seconds, "", "")
        found = checker.after_backup(run, name)
        if settled["phase"] == "Completed" and phase != "Completed":
            found.append(f"Backup {name} is Completed but its manifest is {phase}")
        if settled["phase"] == "Failed" and not settled.get("reason"):
            found.append(f"Backup {name} is Failed without a reason: {settled}")
        record({"path": "operator", "fault": "sigkill-after-first-change", "target": "process", "seed": seed, "seconds": round(seconds, 1),
                "label": f"SIGKILL {delay:g}s after the first change", "outcome": "killed" if killed else "finished",
                "violations": found, "error": "", "left": f"Backup {settled['phase']}, location {phase}"})
        violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
    with _leading(cluster, kube, operator_ns, log):
        _backup(kube, operator_ns, "after", app)
        after = _settled(kube, operator_ns, "after")
    if after["phase"] != "Completed":
        violations.append(f"the Backup after the kills is {after['phase']}: {after}")
    violations += checker.restores_identically("after")
    assert not violations, "\n".join(violations)
