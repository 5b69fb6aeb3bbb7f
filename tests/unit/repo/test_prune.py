from __future__ import annotations

from pathlib import Path

from salvage.repo import layout
from salvage.repo.backup import backup
from salvage.repo.check import check
from salvage.repo.prune import prune
from salvage.repo.repository import Repository
from salvage.repo.restore import restore
from salvage.repo.retention import RetentionPolicy
from salvage.repo.snapshots import list_snapshots

from .conftest import describe, random_bytes


def test_prune_forgets_by_policy_and_frees_space(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for generation in range(3):
        (source / f"gen{generation}.bin").write_bytes(random_bytes(150_000, generation))
        if generation:
            (source / f"gen{generation - 1}.bin").unlink()
        backup(repo, source)
    expected = describe(source)
    size_before = sum(i.size for i in repo.store.list(layout.DATA_PREFIX))
    dry = prune(repo, RetentionPolicy(last=1), dry_run=True)
    assert len(dry.forgotten) == 2 and len(list_snapshots(repo)) == 3
    report = prune(repo, RetentionPolicy(last=1))
    assert len(report.forgotten) == 2
    assert report.packs_deleted + report.packs_repacked > 0
    size_after = sum(i.size for i in repo.store.list(layout.DATA_PREFIX))
    assert size_after < size_before * 0.5
    assert check(repo, read_data=True).ok
    restore(repo, list_snapshots(repo)[0], tmp_path / "out")
    assert describe(tmp_path / "out") == expected


def test_prune_removes_leftover_packs(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "f").write_bytes(b"x" * 1000)
    backup(repo, source)
    leftover = layout.pack_key("cd" * 32)
    repo.store.put(leftover, b"interrupted backup")
    prune(repo, RetentionPolicy())
    assert leftover not in {i.key for i in repo.store.list(layout.DATA_PREFIX)}
    assert check(repo, read_data=True).ok
