"""Tree digests: the one a backup records equals the one read from its restored files, and a
changed file is named."""

from __future__ import annotations

import os
from pathlib import Path

from salvage.repo import digest
from salvage.repo.backup import backup
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot

from .conftest import build_tree


def test_the_recorded_digest_equals_the_source_the_snapshot_and_the_restored_tree(
        repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    result = backup(repo, source, parent=None)
    snapshot = find_snapshot(repo, result.snapshot_id)
    assert result.tree_digest.startswith("sha256:")
    assert digest.of_directory(source).root == result.tree_digest
    assert digest.of_snapshot(repo, snapshot.tree).root == result.tree_digest
    restore(repo, snapshot, tmp_path / "out")
    assert digest.of_directory(tmp_path / "out").root == result.tree_digest


def test_an_unchanged_file_keeps_its_hash_from_the_parent(repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    first = backup(repo, source, parent=None)
    second = backup(repo, source, parent=first.snapshot_id)
    assert second.summary["files_unmodified"] > 0 and second.tree_digest == first.tree_digest
    (source / "dir" / "random.bin").write_bytes(b"changed")
    assert backup(repo, source, parent=second.snapshot_id).tree_digest != first.tree_digest


def test_content_mode_and_a_missing_file_each_change_the_digest_and_are_named(
        repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    snapshot = find_snapshot(repo, backup(repo, source, parent=None).snapshot_id)
    recorded = digest.of_snapshot(repo, snapshot.tree, keep=True)
    restore(repo, snapshot, tmp_path / "out")
    out = tmp_path / "out"
    data = bytearray((out / "dir" / "random.bin").read_bytes())
    data[1000] ^= 1  # same size, one bit
    (out / "dir" / "random.bin").write_bytes(bytes(data))
    os.chmod(out / "exec.sh", 0o755)
    (out / "small.txt").unlink()
    restored = digest.of_directory(out, keep=True)
    assert restored.root != recorded.root
    assert digest.differences(recorded, restored) == [
        "/dir/random.bin: content differs", "/exec.sh: mode 750 -> 755", "/small.txt: missing"]


def test_names_are_encoded_so_a_space_or_newline_cannot_forge_a_line(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x 0 0:0 0 - y").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x\n0").write_text("")
    assert digest.of_directory(tmp_path / "a").root != digest.of_directory(tmp_path / "b").root
    listing = digest.of_directory(tmp_path / "b", keep=True)
    assert list(listing.lines) == ["/x\n0"]
