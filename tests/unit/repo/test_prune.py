from __future__ import annotations

from pathlib import Path

from salvage.repo import layout
from salvage.repo.backup import backup
from salvage.repo.check import check
from salvage.repo.prune import forget_snapshots, prune
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
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


def test_forget_snapshots_removes_exactly_those_and_the_data_only_they_used(repo: Repository, tmp_path: Path) -> None:
    """What deleting an fs backup does to the location's repository."""
    kept_source, gone_source = tmp_path / "kept", tmp_path / "gone"
    for n, source in enumerate((kept_source, gone_source)):
        source.mkdir()
        (source / "shared.bin").write_bytes(random_bytes(100_000, 99))
        (source / "own.bin").write_bytes(random_bytes(150_000, n))
    kept = backup(repo, kept_source).snapshot_id
    gone = backup(repo, gone_source).snapshot_id
    size_before = sum(i.size for i in repo.store.list(layout.DATA_PREFIX))

    report = forget_snapshots(repo, [gone, "0" * 64])  # an id already gone is ignored

    assert [s.id for s in report.forgotten] == [gone]
    assert [s.id for s in list_snapshots(repo)] == [kept]
    size_after = sum(i.size for i in repo.store.list(layout.DATA_PREFIX))
    assert size_before - size_after >= 150_000 * 0.9, "the forgotten snapshot's own data is freed"
    assert check(repo, read_data=True).ok
    restore(repo, list_snapshots(repo)[0], tmp_path / "out")
    assert describe(tmp_path / "out") == describe(kept_source), "the shared data stays"
