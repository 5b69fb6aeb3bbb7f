"""Reading a tree must not change its backup: an unchanged directory gives the same tree blob."""

from __future__ import annotations

import json
import os
from pathlib import Path

from salvage.repo.backup import backup
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot

from .conftest import build_tree

_LONG_AGO_NS = 1_500_000_000_000_000_000  # 2017: any read moves an atime this old, even under relatime


def _read_everything(root: Path) -> None:
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    handle.read()


def _atimes(root: Path) -> dict[str, int]:
    return {os.path.join(d, n): os.lstat(os.path.join(d, n)).st_atime_ns
            for d, dirs, files in os.walk(root) for n in dirs + files}


def test_reading_every_file_between_backups_adds_no_tree_blob(repo: Repository, tmp_path: Path) -> None:
    source = build_tree(tmp_path / "src")
    os.unlink(source / "fifo")  # opening a fifo to read it would block
    for dirpath, dirs, files in os.walk(source):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.utime(path, ns=(_LONG_AGO_NS, os.lstat(path).st_mtime_ns))
    before = _atimes(source)
    first = backup(repo, source)
    _read_everything(source)  # (the first backup read them too: their atimes moved when it did)
    assert _atimes(source) != before, "the test needs a filesystem that records atimes"
    stats_before = {p: (os.lstat(p).st_ctime_ns, os.lstat(p).st_ino) for p in before}

    second = backup(repo, source)

    assert {p: (os.lstat(p).st_ctime_ns, os.lstat(p).st_ino) for p in before} == stats_before, "ctime or inode moved"
    assert find_snapshot(repo, second.snapshot_id).wire["tree"] == find_snapshot(repo, first.snapshot_id).wire["tree"]
    assert second.summary["blobs_added"] == 0 and second.summary["bytes_added"] == 0


def test_restore_sets_atime_to_mtime(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    (source / "dir" / "file").write_bytes(b"data")
    os.utime(source / "dir" / "file", ns=(_LONG_AGO_NS, _LONG_AGO_NS + 7))
    os.utime(source / "dir", ns=(_LONG_AGO_NS, _LONG_AGO_NS + 9))
    backup(repo, source)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out)
    for path, mtime in ((out / "dir" / "file", _LONG_AGO_NS + 7), (out / "dir", _LONG_AGO_NS + 9)):
        st = os.lstat(path)
        assert (st.st_atime_ns, st.st_mtime_ns) == (mtime, mtime)


def test_a_tree_from_before_stable_trees_still_restores_with_its_atimes(repo: Repository, tmp_path: Path) -> None:
    """Earlier versions wrote atime_ns in every node and knew no xattrs."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "file").write_bytes(b"old data")
    snapshot = find_snapshot(repo, backup(repo, source).snapshot_id)
    wire = json.loads(repo.read_blob(snapshot.tree))
    [node] = wire["nodes"]
    assert "xattrs" not in node
    node["atime_ns"] = _LONG_AGO_NS + 123
    old_tree = json.dumps(wire, separators=(",", ":"), sort_keys=True).encode()
    old_id = repo.master.id_of(old_tree)
    writer = repo.writer()
    writer.add_blob("tree", old_id, old_tree)
    writer.flush()
    writer.close()
    old = find_snapshot(repo, repo.save_file("snapshots", {**snapshot.wire, "tree": old_id.hex()}))

    restore(repo, old, tmp_path / "out")

    restored = os.lstat(tmp_path / "out" / "file")
    assert (tmp_path / "out" / "file").read_bytes() == b"old data"
    assert (restored.st_atime_ns, restored.st_mtime_ns) == (_LONG_AGO_NS + 123, node["mtime_ns"])
