"""Crash safety: SIGKILL a backup at random points; the repository must check clean and
the next backup must complete and restore exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from salvage.repo.backup import backup
from salvage.repo.check import check
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot, list_snapshots
from salvage.storage.local import LocalStore
from tests.support.waiting import wait_for

from .conftest import PASSWORD, describe, make_repo, random_bytes

SRC = str(Path(__file__).resolve().parents[3] / "src")

BACKUP_SCRIPT = """
import sys
from pathlib import Path
from salvage.repo.backup import backup
from salvage.repo.repository import Repository
from salvage.storage.local import LocalStore
repo = Repository.open(LocalStore(sys.argv[1], fsync=False), sys.argv[3])
result = backup(repo, Path(sys.argv[2]))
print(result.snapshot_id)
"""


def run_backup(repo_dir: Path, source: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-c", BACKUP_SCRIPT, str(repo_dir), str(source), PASSWORD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pack_count(repo_dir: Path) -> int:
    data = repo_dir / "data"
    return sum(len(files) for _, _, files in os.walk(data)) if data.exists() else 0


def dataset(root: Path, files: int = 60, size: int = 120_000) -> Path:
    root.mkdir()
    for n in range(files):
        sub = root / f"d{n % 5}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{n}.bin").write_bytes(random_bytes(size, n))
    return root


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_backup_leaves_a_consistent_repository(tmp_path: Path, seed: int) -> None:
    repo_dir = tmp_path / "repo"
    make_repo(LocalStore(repo_dir, fsync=False))
    source = dataset(tmp_path / "src")
    expected = describe(source)
    rng = random.Random(seed)
    interrupted = 0
    for _attempt in range(2):
        before = pack_count(repo_dir)
        target = before + rng.randint(1, 12)
        process = run_backup(repo_dir, source)
        try:
            wait_for(
                lambda target=target, process=process: pack_count(repo_dir) >= target or process.poll() is not None,
                timeout=60, interval=0.005, what="packs to appear",
            )
        finally:
            process.send_signal(signal.SIGKILL)
            stderr = process.communicate(timeout=30)[1]
        killed = process.returncode == -signal.SIGKILL
        # Only a kill or a finished backup is expected here: a child that crashed on its own
        # (a bad import, an exception) is a failure, not an "interrupted" backup.
        assert killed or process.returncode == 0, f"the backup exited with {process.returncode}:\n{stderr}"
        if killed:
            assert pack_count(repo_dir) > before, f"killed before it wrote a pack:\n{stderr}"
        repo = Repository.open(LocalStore(repo_dir, fsync=False), PASSWORD)
        report = check(repo, read_data=True)
        assert report.ok, (report.errors, stderr)
        interrupted += killed and not list_snapshots(repo)
    assert interrupted, "the backup always finished before the kill; the test proved nothing"
    repo = Repository.open(LocalStore(repo_dir, fsync=False), PASSWORD)
    result = backup(repo, source)
    assert result.summary["error_count"] == 0
    assert check(repo, read_data=True).ok
    restore(repo, find_snapshot(repo, result.snapshot_id), tmp_path / "out")
    assert describe(tmp_path / "out") == expected


def test_two_concurrent_backups_into_one_repository(tmp_path: Path) -> None:
    repo_dir = tmp_path / "repo"
    make_repo(LocalStore(repo_dir, fsync=False))
    first = dataset(tmp_path / "one", files=30)
    second = dataset(tmp_path / "two", files=40)  # shares 30 files' content with the first
    processes = [run_backup(repo_dir, first), run_backup(repo_dir, second)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    repo = Repository.open(LocalStore(repo_dir, fsync=False), PASSWORD)
    assert len(list_snapshots(repo)) == 2
    report = check(repo, read_data=True)
    assert report.ok, report.errors
    for source, (stdout, _) in zip([first, second], outputs, strict=True):
        out = tmp_path / f"out-{source.name}"
        restore(repo, find_snapshot(repo, stdout.strip()), out)
        assert describe(out) == describe(source)
