"""Builders for repository tests: small chunks and packs so tiny trees exercise many packs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from salvage.repo.config import ChunkerParams
from salvage.repo.crypto import KdfParams
from salvage.repo.repository import Repository
from salvage.storage.base import Store
from salvage.storage.memory import MemoryStore

PASSWORD = "correct horse battery staple"
SMALL_CHUNKS = ChunkerParams(min_size=1024, avg_size=4096, max_size=16384)
FAST_KDF = KdfParams(n=2**10)
SMALL_PACK = 64 * 1024


def make_repo(store: Store | None = None) -> Repository:
    return Repository.init(store or MemoryStore(), PASSWORD, chunker=SMALL_CHUNKS, kdf=FAST_KDF, pack_size=SMALL_PACK)


@pytest.fixture
def repo() -> Repository:
    return make_repo()


def random_bytes(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def build_tree(root: Path) -> Path:
    """A small tree with every kind of entry the repository must keep."""
    (root / "dir" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "small.txt").write_text("hello\n")
    (root / "dir" / "random.bin").write_bytes(random_bytes(200_000, 1))
    (root / "dir" / "deeper" / "text.log").write_bytes(b"line of log text\n" * 10_000)
    (root / "dir" / "link").symlink_to("../small.txt")
    (root / "dangling").symlink_to("nowhere/at/all")
    os.link(root / "small.txt", root / "dir" / "hardlink")
    with open(root / "sparse", "wb") as handle:
        handle.seek(300_000)
        handle.write(b"end")
    (root / "one-zero").write_bytes(b"\0")  # all hole: found by the property test
    (root / "zeros").write_bytes(bytes(100_000))
    os.mkfifo(root / "fifo")
    (root / "exec.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "exec.sh", 0o750)
    os.chmod(root / "empty", 0o700)
    weird = os.fsdecode(b"latin1-\xe9")
    (root / weird).write_bytes(b"not utf-8 name")
    os.setxattr(root / "small.txt", "user.mime_type", b"text/plain")
    os.setxattr(root / "dir", "user.binary", bytes(range(256)))
    os.utime(root / "small.txt", ns=(1_600_000_000_123_456_789, 1_600_000_000_987_654_321))
    return root


def xattrs_of(path: str | Path) -> tuple[tuple[str, bytes], ...]:
    return tuple(sorted((name, os.getxattr(path, name, follow_symlinks=False))
                        for name in os.listxattr(path, follow_symlinks=False)))


def describe(root: Path) -> dict[str, tuple[object, ...]]:
    """Everything a restore must reproduce, per relative path (times for files and dirs)."""
    found: dict[str, tuple[object, ...]] = {}
    inode_groups: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                found[rel] = ("dir", stat.S_IMODE(mode), st.st_mtime_ns, st.st_uid, st.st_gid, xattrs_of(path))
            elif stat.S_ISREG(mode):
                with open(path, "rb") as handle:
                    content = handle.read()
                group = inode_groups.setdefault(st.st_ino, rel) if st.st_nlink > 1 else None
                found[rel] = ("file", stat.S_IMODE(mode), st.st_mtime_ns, st.st_uid, st.st_gid, content, group,
                              xattrs_of(path))
            else:
                found[rel] = ("other", stat.S_IFMT(mode), stat.S_IMODE(mode), xattrs_of(path))
    return found


def assert_round_trip(store: Store, tmp_path: Path) -> None:
    """A new repository on ``store``: back up a tree, check every byte, restore it identical."""
    from salvage.repo.backup import backup
    from salvage.repo.check import check
    from salvage.repo.repository import Repository
    from salvage.repo.restore_files import restore
    from salvage.repo.snapshots import find_snapshot

    make_repo(store)
    repo = Repository.open(store, PASSWORD)
    source = build_tree(tmp_path / "src")
    backup(repo, source)
    assert check(repo, read_data=True).ok
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "out")
    assert describe(tmp_path / "out") == describe(source)
