"""A full disk and a full store (issue 20): ``backup create`` onto a directory location whose
disk is full, and onto a MinIO whose drive is full; ``fs restore`` into a full target. Each
run must fail with an error that says the space ran out (no traceback), leave no Completed
backup, no temporary file and no lock, keep the repository sound, and the same command must
finish once there is space again.

The disks are tmpfs mounts of a fixed size (the tests run as root, as the real node needs),
filled up with one preallocated file that is removed to make space.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.servers import start_minio
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.faults.cases import record, sweep_only
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import Run, salvage
from tests.support.volumes import tree_digest, volume_dir

pytestmark = pytest.mark.integration

BIG = 16 * 1024 * 1024  # the volume's data in these tests: more than the space left


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_up(disk: Path, leave: int) -> Path:
    """One file taking all the space on ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        os.posix_fallocate(out.fileno(), 0, shutil.disk_usage(disk).free - leave)
    return filler


def temporary_files(root: Path) -> list[str]:
    """Files a store writes first and renames (LocalStore's ``*.salvage-tmp``; MinIO's own
    tmp area is not ours): a failed write must not leave one."""
    return [str(p) for p in root.rglob("*.salvage-tmp")]


@pytest.fixture
def big_app(kube: KubeClient, app_ns: str) -> str:
    """Seed 001's app with 16 MiB more of random data in its volume."""
    (volume_dir(kube, app_ns, "data-pg-0") / "base" / "big").write_bytes(os.urandom(BIG))
    return app_ns


def _backup(kubeconfig: Path, name: str, ns: str, location: str) -> Run:
    return salvage(kubeconfig, "backup", "create", name, "--include-namespaces", ns, "--default-volumes-to-fs-backup",
                   "--location", location, env={"SALVAGE_REPO_PASSWORD": PASSWORD}, timeout=300)


def _full_verdict(path: str, fault: str, what: str, run: Run, retry: Run, violations: list[str],
                  said: tuple[str, ...]) -> None:
    text = " ".join(run.stderr.split())
    if run.finished:
        violations.append(f"the run onto a full {fault} exited 0: {run.describe()}")
    elif "Traceback" in run.stderr or not any(s in text.lower() for s in said):
        violations.append(f"the run onto a full {fault} did not say the space ran out: {run.describe()}")
    if not retry.finished:
        violations.append(f"the run once there was space again did not finish: {retry.describe()}")
    outcome = "finished" if run.finished else f"failed ({run.returncode})"
    record({"path": path, "fault": f"full-{fault}", "target": fault, "label": what, "seed": 0, "outcome": outcome,
            "seconds": round(run.seconds, 1), "violations": violations, "error": text[-300:]})
    print(f"\n{path} onto a full {fault}: {outcome} in {run.seconds:.1f}s\n{run.stderr}")
    assert not violations, "\n".join(violations)


def test_backup_create_onto_a_full_disk_fails_cleanly_then_finishes(
        kube: KubeClient, cluster: Any, salvage_home: Path, big_app: str, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "32m") as disk:
        added = salvage(cluster.kubeconfig, "location", "add", "small", "--provider", "filesystem",
                        "--path", str(disk / "backups"))
        assert added.finished, added.describe()
        checker = Checker.for_namespace(kube, cluster.kubeconfig, open_location("small"), big_app)
        filler = fill_up(disk, 4 * 1024 * 1024)
        run = _backup(cluster.kubeconfig, "onto-full", big_app, "small")
        violations = checker.after_backup(run, "onto-full")
        violations += [f"temporary file left: {p}" for p in temporary_files(disk)]
        if checker.phase("onto-full") == "Completed":
            violations.append("a backup onto a full disk is Completed")
        filler.unlink()
        retry = _backup(cluster.kubeconfig, "after-full", big_app, "small")
        violations += checker.after_backup(retry, "after-full")
        _full_verdict("backup create", "disk", "directory location on a full disk (4 MiB left, 16 MiB to write)",
                      run, retry, violations, ("no space left",))


@sweep_only()  # a MinIO of its own on a 1.2 GB tmpfs
def test_backup_create_onto_a_full_store_fails_cleanly_then_finishes(
        kube: KubeClient, cluster: Any, salvage_home: Path, big_app: str, tmp_path: Path) -> None:
    import boto3

    with small_disk(tmp_path / "minio", "1200m") as disk:
        server = start_minio(disk)
        try:
            boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                         aws_access_key_id=server.access_key_id,
                         aws_secret_access_key=server.secret_access_key).create_bucket(Bucket="full")
            creds = [a for k, v in server.credentials.items() for a in ("--credential", f"{k}={v}")]
            added = salvage(cluster.kubeconfig, "location", "add", "fullstore", "--provider", "s3", "--bucket", "full",
                            "--endpoint", server.endpoint, "--region", server.region, *creds)
            assert added.finished, added.describe()
            checker = Checker.for_namespace(kube, cluster.kubeconfig, open_location("fullstore"), big_app)
            filler = fill_up(disk, 4 * 1024 * 1024)
            run = _backup(cluster.kubeconfig, "onto-full", big_app, "fullstore")
            violations = checker.after_backup(run, "onto-full")
            if checker.phase("onto-full") == "Completed":
                violations.append("a backup onto a full store is Completed")
            filler.unlink()
            retry = _backup(cluster.kubeconfig, "after-full", big_app, "fullstore")
            violations += checker.after_backup(retry, "after-full")
            _full_verdict("backup create", "store", "MinIO on a full drive (4 MiB left, 16 MiB to write)",
                          run, retry, violations, ("full", "no space", "storage"))
        finally:
            server.stop()


@sweep_only()  # the test command keeps the full disk; this one is repo/restore_files.py's own TargetFullError
def test_fs_restore_into_a_full_target_fails_cleanly_then_finishes(
        checker: Checker, fault_env: dict[str, str], s3_server: Any, s3_bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for number in range(8):
        (source / f"f{number}").write_bytes(os.urandom(1024 * 1024))
    repo = f"s3://{s3_bucket}/repository?endpoint={s3_server.endpoint}&region={s3_server.region}"
    env = {**fault_env, "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key}

    def run(*args: str) -> Run:
        return salvage(checker.kubeconfig, *args, "--repo", repo, env=env)

    assert run("repo", "init").finished
    assert run("fs", "backup", str(source)).finished
    with small_disk(tmp_path / "target", "3m") as target:
        full = run("fs", "restore", "latest", "--target", str(target / "data"))
        violations = checker.repository(full)
        subprocess.run(["mount", "-o", "remount,size=32m", str(target)], check=True)
        retry = run("fs", "restore", "latest", "--target", str(target / "data"))
        if retry.finished and tree_digest(target / "data") != tree_digest(source):
            violations.append("the restore once there was space does not give the tree byte for byte")
        violations += checker.repository(retry)
        _full_verdict("fs restore", "target", "restore target on a full disk (3 MiB for 8 MiB)", full, retry,
                      violations, ("full",))
