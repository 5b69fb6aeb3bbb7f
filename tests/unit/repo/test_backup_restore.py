"""Round trips of real directory trees, incremental behaviour, and bad input on either side."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from salvage.model.errors import UsageError
from salvage.repo import backup as backup_module
from salvage.repo import restore_writer
from salvage.repo.backup import backup
from salvage.repo.errors import TargetFullError
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot, list_snapshots

from .conftest import build_tree, describe, random_bytes


def test_round_trip_keeps_data_and_metadata(repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    before = describe(source)
    result = backup(repo, source, tags=["nightly"])
    out = tmp_path / "out"
    restored = restore(repo, find_snapshot(repo, result.snapshot_id[:10]), out)
    assert describe(out) == before
    assert restored.refused == []
    assert list_snapshots(repo)[0].wire["tags"] == ["nightly"]


def test_sparse_files_stay_sparse(repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    backup(repo, source)
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "out")
    restored = os.stat(tmp_path / "out" / "sparse")
    assert restored.st_size == 300_003
    assert restored.st_blocks * 512 < 64 * 1024


def test_unchanged_files_are_not_read_again(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = build_tree(tmp_path / "src")
    first = backup(repo, source)
    opened: list[str] = []
    real_open = open

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(backup_module, "open", spy, raising=False)
    second = backup(repo, source)
    assert opened == []
    assert second.parent_id == first.snapshot_id
    assert second.summary["files_unmodified"] == first.summary["files_new"]
    assert second.summary["bytes_added"] == 0  # not even a tree: nodes hold no atime


def test_a_changed_file_adds_only_its_changed_chunks(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    data = random_bytes(1_000_000, 2)
    (source / "big").write_bytes(data)
    first = backup(repo, source)
    (source / "big").write_bytes(data[:500_000] + b"edit" + data[500_000:])
    second = backup(repo, source)
    assert second.summary["files_changed"] == 1
    assert second.summary["bytes_added"] < first.summary["bytes_added"] / 10
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "out")
    assert (tmp_path / "out" / "big").read_bytes() == data[:500_000] + b"edit" + data[500_000:]


def test_restore_of_included_paths_only(repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    backup(repo, source)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out, include=["dir/deeper", "small.txt"])
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "dir", "dir/deeper", "dir/deeper/text.log", "small.txt",
    ]
    with pytest.raises(UsageError, match="not in snapshot"):
        restore(repo, find_snapshot(repo, "latest"), out, include=["no/such"])


def test_a_path_vanishing_mid_backup_is_reported_not_fatal(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = build_tree(tmp_path / "src")
    real_open = open

    def vanish(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("random.bin"):
            os.unlink(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(backup_module, "open", vanish, raising=False)
    result = backup(repo, source)
    assert result.summary["error_count"] == 1
    assert "random.bin: vanished during backup" in result.summary["errors"][0]
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out)
    assert not (out / "dir" / "random.bin").exists()
    assert (out / "dir" / "deeper" / "text.log").exists()


def test_backup_of_a_missing_directory_is_a_usage_error(repo: Repository, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot back up"):
        backup(repo, tmp_path / "nope")


def test_full_disk_on_restore_leaves_no_partial_file(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = build_tree(tmp_path / "src")
    backup(repo, source)
    out = tmp_path / "out"
    out.mkdir()
    (out / "small.txt").write_text("precious old content")

    def full(descriptor: int, data: bytes, offset: int) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(restore_writer, "_write_sparse", full)
    with pytest.raises(TargetFullError, match="target is full") as info:
        restore(repo, find_snapshot(repo, "latest"), out)
    assert "run the restore again" in (info.value.hint or "")
    assert not list(out.rglob("*.salvage-restore"))
    assert (out / "small.txt").read_text() == "precious old content"
