"""SIGKILL at random points: ``backup create``, ``restore create`` and ``fs backup`` are
killed a seeded random delay after they start (anywhere from interpreter start-up to the
manifest's write), the checker runs after each kill, and a run after the last kill finishes."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from salvage.k8s.client import KubeClient
from tests.faults.cases import record, seeds
from tests.faults.checker import Checker
from tests.faults.runner import Run, salvage
from tests.support.volumes import tree_digest

pytestmark = pytest.mark.integration

QUICK_SEEDS = 1  # per path in the test command; the sweep sets SALVAGE_FAULT_SEEDS


def _delays(path: str, full: float) -> list[tuple[int, float]]:
    """Per seed, a kill delay drawn from [0.3 s, the unkilled run's time] (seeded: reproducible)."""
    return [(seed, round(random.Random(f"{path}/{seed}").uniform(0.3, full), 2))
            for seed in seeds(QUICK_SEEDS)]


def _record(path: str, seed: int, delay: float, run: Run, violations: list[str], left: str) -> None:
    """``left``: what the kill left behind (the backup's phase, the restored namespace, ...),
    which shows where in the run the kills landed."""
    outcome = "killed" if run.killed else ("finished" if run.finished else f"failed ({run.returncode})")
    record({"path": path, "fault": "sigkill", "target": "process", "label": f"SIGKILL after {delay:g}s",
            "seed": seed, "outcome": outcome, "seconds": round(run.seconds, 1), "violations": violations,
            "error": "", "left": left})


def test_backup_create_killed_at_random_points(checker: Checker, fault_env: dict[str, str]) -> None:
    def backup(name: str, kill_after: float | None = None) -> Run:
        return salvage(checker.kubeconfig, "backup", "create", name, "--include-namespaces", checker.source_ns,
                       "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env,
                       kill_after=kill_after)

    whole = backup("whole")
    assert whole.finished, whole.describe()
    violations: list[str] = []
    for seed, delay in _delays("backup", whole.seconds):
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
                       env=fault_env, kill_after=kill_after)

    try:
        whole = restore(f"{ns}-whole")
        violations = checker.after_restore(whole, f"{ns}-whole")
        assert whole.finished and not violations, whole.describe() + "\n".join(violations)
        for seed, delay in _delays("restore", whole.seconds):
            run = restore(f"{ns}-k{seed}", kill_after=delay)
            left = _objects_in(kube, f"{ns}-k{seed}")
            found = checker.after_restore(run, f"{ns}-k{seed}")
            _record("restore create", seed, delay, run, found, left)
            violations += [f"seed {seed} (kill at {delay}s): {v}" for v in found]
        again = restore(f"{ns}-again")
        violations += checker.after_restore(again, f"{ns}-again")
        if not again.finished:
            violations.append(f"the restore after the kills did not finish: {again.describe()}")
        assert not violations, "\n".join(violations)
    finally:
        for target in targets:
            kube.delete_if_present(f"/api/v1/namespaces/{target}")


def test_fs_backup_killed_at_random_points(checker: Checker, fault_env: dict[str, str], s3_server: Any,
                                           s3_bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    for folder in range(8):
        (source / f"d{folder}").mkdir(parents=True)
        for number in range(8):
            (source / f"d{folder}" / f"f{number}").write_bytes(os.urandom(64 * 1024 + number))
    repo = f"s3://{s3_bucket}/repository?endpoint={s3_server.endpoint}&region={s3_server.region}"
    env = {**fault_env, "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key}

    def run(*args: str, kill_after: float | None = None) -> Run:
        return salvage(checker.kubeconfig, *args, "--repo", repo, env=env, kill_after=kill_after)

    initialised = run("repo", "init")
    assert initialised.finished, initialised.describe()
    whole = run("fs", "backup", str(source))
    assert whole.finished, whole.describe()
    violations: list[str] = []
    for seed, delay in _delays("fs", whole.seconds):
        (source / "d0" / "changed").write_bytes(os.urandom(256 * 1024))  # new data for each run to write
        before = _snapshots(checker)
        killed = run("fs", "backup", str(source), kill_after=delay)
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


def _objects_in(kube: KubeClient, ns: str) -> str:
    if not kube.exists(f"/api/v1/namespaces/{ns}"):
        return "no namespace"
    kinds = [("configmaps", "/api/v1"), ("persistentvolumeclaims", "/api/v1"), ("statefulsets", "/apis/apps/v1")]
    return ", ".join(f"{sum(1 for _ in kube.list(f'{api}/namespaces/{ns}/{kind}'))} {kind}" for kind, api in kinds)


def _snapshots(checker: Checker) -> int:
    return sum(1 for _ in checker.location.store.list("repository/snapshots/"))
