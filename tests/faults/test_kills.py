"""SIGKILL at random points: ``backup create``, ``restore create``, ``statefulset recover``,
``fs backup`` and ``fs restore`` are killed a seeded random delay after their first change
(their lock or first object on the store, their first object in the cluster, their first
restored file), the checker runs after each kill, and a run after the kills finishes.

Delays are drawn from 0 to the time the same command took unkilled from its first change to
its end, so nearly every kill lands while the command is changing things. Paths that are
meant to be run again after a crash (``statefulset recover``, ``fs restore``) are run again
after every kill, into the same place, and must then give the backed-up data byte for byte.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from salvage.k8s.client import KubeClient
from tests.faults.cases import record, seeds
from tests.faults.checker import Checker
from tests.faults.runner import Run, salvage
from tests.integration.engines import workload
from tests.support.volumes import tree_digest

pytestmark = pytest.mark.integration

QUICK_SEEDS = 1  # per path in the test command; the sweep sets SALVAGE_FAULT_SEEDS
# The table's name for these kills: delays from the first change ("sigkill" rows, from the
# earlier sweep, drew them from the process's start).
KILL = "sigkill-after-first-change"


def _delays(path: str, whole: Run) -> list[tuple[int, float]]:
    """Per seed, a kill delay after the first change, drawn from [0, the unkilled run's time
    from its first change to its end] (seeded: reproducible)."""
    assert whole.armed_at is not None, f"the unkilled run never changed anything: {whole.describe()}"
    span = max(0.05, whole.seconds - whole.armed_at)
    return [(seed, round(random.Random(f"{path}/{seed}").uniform(0.0, span), 2)) for seed in seeds(QUICK_SEEDS)]


def _record(path: str, seed: int, delay: float, run: Run, violations: list[str], left: str) -> None:
    """``left``: what the kill left behind (the backup's phase, the restored namespace, ...),
    which shows where in the run the kills landed."""
    outcome = "killed" if run.killed else ("finished" if run.finished else f"failed ({run.returncode})")
    record({"path": path, "fault": KILL, "target": "process", "label": f"SIGKILL {delay:g}s after the first change",
            "seed": seed, "outcome": outcome, "seconds": round(run.seconds, 1), "violations": violations,
            "error": "", "left": left, "armed_at": run.armed_at})


def _has_keys(checker: Checker, *prefixes: str) -> Callable[[], bool]:
    store = checker.location.store
    return lambda: any(next(iter(store.list(prefix)), None) is not None for prefix in prefixes)


def test_backup_create_killed_at_random_points(checker: Checker, fault_env: dict[str, str]) -> None:
    def backup(name: str, kill_after: float | None = None) -> Run:
        return salvage(checker.kubeconfig, "backup", "create", name, "--include-namespaces", checker.source_ns,
                       "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env,
                       kill_after=kill_after, armed_by=_has_keys(checker, f"backups/{name}/", "repository/locks/"))

    whole = backup("whole")
    assert whole.finished, whole.describe()
    violations: list[str] = []
    for seed, delay in _delays("backup", whole):
        run = backup(f"k{seed}", kill_after=delay)
        left = checker.phase(f"k{seed}")
        found = checker.after_backup(run, f"k{seed}")
        _record("backup create", seed, delay, run, found, left)
        violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
    after = backup("after")
    violations += checker.after_backup(after, "after")
    if not after.finished:
        violations.append(f"the backup after the kills did not finish: {after.describe()}")
    assert not violations, "\n".join(violations)


def test_restore_create_killed_at_random_points(checker: Checker, fault_env: dict[str, str],
                                                kube: KubeClient) -> None:
    ns = checker.source_ns
    made = salvage(checker.kubeconfig, "backup", "create", "base", "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)
    assert made.finished, made.describe()
    targets: list[str] = []

    def restore(target: str, kill_after: float | None = None) -> Run:
        targets.append(target)
        return salvage(checker.kubeconfig, "restore", "create", f"r-{target}", "--from-backup", "base",
                       "--location", "direct", "--namespace-mappings", f"{ns}:{target}", "--timeout", "60",
                       env=fault_env, kill_after=kill_after,
                       armed_by=lambda: kube.exists(f"/api/v1/namespaces/{target}"))

    try:
        whole = restore(f"{ns}-whole")
        violations = checker.after_restore(whole, f"{ns}-whole")
        assert whole.finished and not violations, whole.describe() + "\n".join(violations)
        for seed, delay in _delays("restore", whole):
            run = restore(f"{ns}-k{seed}", kill_after=delay)
            left = _objects_in(kube, f"{ns}-k{seed}")
            found = checker.after_restore(run, f"{ns}-k{seed}")
            _record("restore create", seed, delay, run, found, left)
            violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
            kube.delete_if_present(f"/api/v1/namespaces/{ns}-k{seed}")
        again = restore(f"{ns}-again")
        violations += checker.after_restore(again, f"{ns}-again")
        if not again.finished:
            violations.append(f"the restore after the kills did not finish: {again.describe()}")
        assert not violations, "\n".join(violations)
    finally:
        for target in targets:
            kube.delete_if_present(f"/api/v1/namespaces/{target}")


def test_statefulset_recover_killed_at_random_points_then_run_again(checker: Checker, fault_env: dict[str, str],
                                                                      kube: KubeClient) -> None:
    """Each kill is followed by the same recover into the same namespace, as a user would run
    it after a crash: it must finish with the backed-up files byte for byte (a claim the
    killed run had half filled must not be kept as if whole)."""
    ns = checker.source_ns
    made = salvage(checker.kubeconfig, "backup", "create", "base", "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)
    assert made.finished, made.describe()
    targets: list[str] = []

    def recover(target: str, kill_after: float | None = None) -> Run:
        return salvage(checker.kubeconfig, "statefulset", "recover", "pg", "-n", target, "--from-backup", "base",
                       "--backup-namespace", ns, "--location", "direct", "--timeout", "60", env=fault_env,
                       kill_after=kill_after,
                       armed_by=lambda: kube.exists(f"/api/v1/namespaces/{target}/persistentvolumeclaims/data-pg-0"))

    def fresh(target: str) -> str:
        targets.append(target)
        kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}})
        return target

    def recovered_whole(target: str, run: Run) -> list[str]:
        if not run.finished:
            return [f"recover into {target} did not finish: {run.describe()}"]
        try:
            workload.wait_ready(kube, target)
        except AssertionError as exc:
            return [f"recover into {target} exited 0 but is not running: {exc}"]
        if workload.digest_of(kube, target) != checker.source_digest:
            return [f"recover into {target} exited 0 with different volume data"]
        return []

    try:
        whole_target = fresh(f"{ns}-rw")
        whole = recover(whole_target)
        violations = recovered_whole(whole_target, whole)
        assert not violations, violations
        for seed, delay in _delays("recover", whole):
            target = fresh(f"{ns}-r{seed}")
            run = recover(target, kill_after=delay)
            left = _objects_in(kube, target)
            found = checker.repository(run) + checker.source_untouched()
            again = recover(target)
            found += [f"after the kill: {v}" for v in recovered_whole(target, again)]
            _record("statefulset recover", seed, delay, run, found, left)
            violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
            kube.delete_if_present(f"/api/v1/namespaces/{target}")
        assert not violations, "\n".join(violations)
    finally:
        for target in targets:
            kube.delete_if_present(f"/api/v1/namespaces/{target}")


@pytest.fixture
def fs_repo(checker: Checker, fault_env: dict[str, str], s3_server: Any, s3_bucket: str, tmp_path: Path) -> Any:
    """A 4 MiB tree of 64 files and a function running ``salvage ARGS --repo`` (MinIO, direct)."""
    source = tmp_path / "source"
    for folder in range(8):
        (source / f"d{folder}").mkdir(parents=True)
        for number in range(8):
            (source / f"d{folder}" / f"f{number}").write_bytes(os.urandom(64 * 1024 + number))
    repo = f"s3://{s3_bucket}/repository?endpoint={s3_server.endpoint}&region={s3_server.region}"
    env = {**fault_env, "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key}

    def run(*args: str, kill_after: float | None = None, armed_by: Callable[[], bool] | None = None) -> Run:
        return salvage(checker.kubeconfig, *args, "--repo", repo, env=env, kill_after=kill_after, armed_by=armed_by)

    initialised = run("repo", "init")
    assert initialised.finished, initialised.describe()
    return source, run


def test_fs_backup_killed_at_random_points(checker: Checker, fs_repo: Any, tmp_path: Path) -> None:
    source, run = fs_repo
    locked = _has_keys(checker, "repository/locks/")
    whole = run("fs", "backup", str(source), armed_by=locked)
    assert whole.finished, whole.describe()
    violations: list[str] = []
    for seed, delay in _delays("fs", whole):
        (source / "d0" / "changed").write_bytes(os.urandom(256 * 1024))  # new data for each run to write
        before = _snapshots(checker)
        killed = run("fs", "backup", str(source), kill_after=delay, armed_by=locked)
        found = checker.repository(killed)
        _record("fs backup", seed, delay, killed, found,
                "a new snapshot" if _snapshots(checker) > before else "no new snapshot")
        violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
    after = run("fs", "backup", str(source))
    violations += checker.repository(after)
    restored = run("fs", "restore", "latest", "--target", str(tmp_path / "restored"))
    if not (after.finished and restored.finished):
        violations.append(f"after the kills: {after.describe()} / {restored.describe()}")
    elif tree_digest(tmp_path / "restored") != tree_digest(source):
        violations.append("the snapshot after the kills does not restore byte for byte")
    assert not violations, "\n".join(violations)


def test_fs_restore_killed_at_random_points_then_run_again(checker: Checker, fs_repo: Any, tmp_path: Path) -> None:
    """Each kill is followed by the same restore into the same directory: it must finish with
    the tree byte for byte over whatever the killed run had written."""
    source, run = fs_repo
    made = run("fs", "backup", str(source))
    assert made.finished, made.describe()
    expected = tree_digest(source)

    def restore(target: Path, kill_after: float | None = None) -> Run:
        return run("fs", "restore", "latest", "--target", str(target), kill_after=kill_after,
                   armed_by=lambda: target.exists())

    whole = restore(tmp_path / "whole")
    assert whole.finished and tree_digest(tmp_path / "whole") == expected, whole.describe()
    violations: list[str] = []
    for seed, delay in _delays("fs-restore", whole):
        target = tmp_path / f"k{seed}"
        killed = restore(target, kill_after=delay)
        left = f"{sum(len(files) for _, _, files in os.walk(target))} of 64 files" if target.exists() else "nothing"
        found = checker.repository(killed)
        again = restore(target)
        if not again.finished:
            found.append(f"the restore run again after the kill did not finish: {again.describe()}")
        elif tree_digest(target) != expected:
            found.append("the restore run again after the kill does not give the tree byte for byte")
        found += checker.repository(again)
        _record("fs restore", seed, delay, killed, found, left)
        violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
    assert not violations, "\n".join(violations)


def _objects_in(kube: KubeClient, ns: str) -> str:
    if not kube.exists(f"/api/v1/namespaces/{ns}"):
        return "no namespace"
    kinds = [("configmaps", "/api/v1"), ("persistentvolumeclaims", "/api/v1"), ("statefulsets", "/apis/apps/v1")]
    return ", ".join(f"{sum(1 for _ in kube.list(f'{api}/namespaces/{ns}/{kind}'))} {kind}" for kind, api in kinds)


def _snapshots(checker: Checker) -> int:
    return sum(1 for _ in checker.location.store.list("repository/snapshots/"))
