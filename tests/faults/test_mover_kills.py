"""The data mover killed (issue 20): on the real node, the mover pod of ``backup create`` and
of ``restore create`` is deleted with no grace (its container gets SIGKILL) a seeded random
delay after it appears. The backup must then be PartiallyFailed (never Completed without the
volume), or, when the kill came after the copy, Completed and restorable byte for byte; a
restore must stop and remove what it created (no workload on half a volume), or finish
whole. Either way: no temporary object, no repository lock, the repository checks out with
every pack read, and the next run finishes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.servers import S3Server
from salvage.devcluster.servers.relay import NodeRelay
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.repo.check import check
from salvage.repo.locks import list_locks
from salvage.volumes import fs
from salvage.volumes.mover import LABEL_TEMPORARY
from tests.faults.cases import record, seeds
from tests.faults.runner import Run, salvage, when
from tests.integration.volumes.test_data_mover import deploy, temporaries, written
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

PASSWORD = "mover-kill-password"


@pytest.fixture
def mover_env(real_cluster: LocalCluster, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Location ``m`` on MinIO (pods reach it through a relay on the node's address)."""
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    env = {"SALVAGE_REPO_PASSWORD": PASSWORD, "SALVAGE_CONFIG_DIR": str(tmp_path / "config"),
           "SALVAGE_DATA_DIR": str(tmp_path / "data")}
    with NodeRelay.for_endpoint(s3_server.endpoint) as relay:
        creds = [a for k, v in s3_server.credentials.items() for a in ("--credential", f"{k}={v}")]
        added = salvage(real_cluster.kubeconfig, "location", "add", "m", "--provider", "s3", "--bucket", s3_bucket,
                        "--endpoint", s3_server.endpoint, "--pod-endpoint", relay.endpoint(),
                        "--region", s3_server.region, *creds, env=env)
        assert added.finished, added.describe()
        yield env


def _mover(kube: KubeClient, ns: str) -> str | None:
    pods = list(kube.list(f"/api/v1/namespaces/{ns}/pods", labelSelector=f"{LABEL_TEMPORARY}=true"))
    return str(pods[0]["metadata"]["name"]) if pods else None


def _kill_mover(kube: KubeClient, ns: str) -> None:
    name = _mover(kube, ns)
    if name:
        kube.delete_if_present(f"/api/v1/namespaces/{ns}/pods/{name}", gracePeriodSeconds=0)


def _after(kube: KubeClient, run: Run) -> list[str]:
    found = []
    if "Traceback" in run.stderr:
        found.append(f"a traceback: {run.describe()}")
    try:
        wait_for(lambda: temporaries(kube) == [], timeout=30, what="no temporary object")
    except AssertionError:
        found.append(f"temporary objects left: {temporaries(kube)}")
    repo = fs.repository(open_location("m").store, PASSWORD, create=False)
    found += [f"lock left: {lock.describe()}" for lock in list_locks(repo)]
    found += [f"repository check: {e}" for e in check(fs.repository(open_location("m").store, PASSWORD, create=False,
                                                                    read_only=True), read_data=True).errors]
    return found


def _record(path: str, seed: int, delay: float, run: Run, killed: bool, found: list[str], left: str) -> None:
    record({"path": path, "fault": "mover-killed", "target": "mover pod",
            "label": "the data mover's pod deleted with no grace (SIGKILL), a seeded delay after it appears",
            "seed": seed, "outcome": "killed" if killed else ("finished" if run.finished else f"failed ({run.returncode})"),
            "seconds": round(run.seconds, 1), "violations": found, "error": " ".join(run.stderr.split())[-300:],
            "left": left})


def test_the_data_mover_killed_at_random_points(real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str,
                                                mover_env: dict[str, str]) -> None:
    kube, kubeconfig = real_kube, real_cluster.kubeconfig
    digests = deploy(kube, real_ns, replicas=1, blob_mib=24)

    def backup(name: str) -> Run:
        return salvage(kubeconfig, "backup", "create", name, "--include-namespaces", real_ns,
                       "--default-volumes-to-fs-backup", "--location", "m", env=mover_env,
                       armed_by=lambda: _mover(kube, real_ns) is not None)

    def restore(backup_name: str, target: str) -> Run:
        return salvage(kubeconfig, "restore", "create", f"r-{target}", "--from-backup", backup_name,
                       "--location", "m", "--namespace-mappings", f"{real_ns}:{target}", "--timeout", "120",
                       env=mover_env, armed_by=lambda: _mover(kube, target) is not None)

    def phase(name: str) -> str:
        from salvage.catalog.reader import BackupReader, IncompleteBackupError

        try:
            return str(BackupReader(open_location("m").store, name).manifest["phase"])
        except IncompleteBackupError:
            return "Incomplete"

    def restored_whole(target: str) -> list[str]:
        try:
            return [] if written(kube, target, "web-0") == digests["web-0"] else [f"{target}: different files"]
        finally:
            kube.delete_if_present(f"/api/v1/namespaces/{target}")

    whole = backup("whole")
    assert whole.finished and whole.armed_at is not None, whole.describe()
    span = whole.seconds - whole.armed_at
    violations: list[str] = []
    for seed in seeds(1):
        delay = round(random.Random(f"mover-backup/{seed}").uniform(0.0, span), 2)
        name = f"k{seed}"
        with when(lambda: _mover(kube, real_ns) is not None, lambda: _kill_mover(kube, real_ns),
                  after=delay) as killed:
            run = backup(name)
        found = _after(kube, run)
        left = phase(name)
        if left == "Completed":
            target = f"{real_ns}-c{seed}"
            check_restore = restore(name, target)
            found += [f"Completed backup {name} does not restore: {check_restore.describe()}"] \
                if not check_restore.finished else restored_whole(target)
        elif run.finished:
            found.append(f"backup {name} exited 0 but is {left}")
        if killed.is_set() and left == "Completed" and not run.finished:
            found.append(f"backup {name} is Completed but its run failed: {run.describe()}")
        _record("backup create", seed, delay, run, killed.is_set() and not run.finished, found, left)
        violations += [f"backup seed {seed} (mover killed {delay}s in): {v}" for v in found]

    restore_whole = restore("whole", f"{real_ns}-w")
    assert restore_whole.finished and restore_whole.armed_at is not None, restore_whole.describe()
    violations += restored_whole(f"{real_ns}-w")
    span = restore_whole.seconds - restore_whole.armed_at
    for seed in seeds(1):
        delay = round(random.Random(f"mover-restore/{seed}").uniform(0.0, span), 2)
        target = f"{real_ns}-k{seed}"
        with when(lambda: _mover(kube, target) is not None, lambda: _kill_mover(kube, target),
                  after=delay) as killed:
            run = restore("whole", target)
        found = _after(kube, run)
        if run.finished:
            found += restored_whole(target)
        else:
            said = " ".join(run.stderr.split())
            if "removed the" not in said and f"Namespace {target}" not in said:
                found.append(f"the restore failed without saying what it removed or left: {run.describe()}")
            try:
                wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{target}"), timeout=90,
                         what="the stopped restore's namespace removed")
            except AssertionError:
                found.append(f"the stopped restore left namespace {target}: {run.describe()}")
        _record("restore create", seed, delay, run, killed.is_set() and not run.finished, found,
                "finished" if run.finished else "stopped")
        violations += [f"restore seed {seed} (mover killed {delay}s in): {v}" for v in found]
        kube.delete_if_present(f"/api/v1/namespaces/{target}")
    started = time.monotonic()
    after = backup("after")
    if not after.finished:
        violations.append(f"the backup after the kills did not finish: {after.describe()}")
    print(f"mover kills done; the backup after them took {time.monotonic() - started:.1f}s")
    assert not violations, "\n".join(violations)
