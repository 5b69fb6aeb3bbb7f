"""Restore's data path: batches, pack reads, deduplicated blobs and holes."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from salvage.repo import restore_writer
from salvage.repo.backup import backup
from salvage.repo.errors import RestoreIncompleteError, TargetFullError
from salvage.repo.repository import Repository
from salvage.repo.restore_files import restore
from salvage.repo.snapshots import find_snapshot
from salvage.repo.tree import decode_tree

from .conftest import build_tree, describe, random_bytes

BLOCK = 4096


@pytest.fixture(params=["O_TMPFILE", "named"])
def file_naming(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways restore creates files: unnamed where the filesystem can, named where not."""
    if request.param == "named":
        monkeypatch.setattr(restore_writer, "_UNNAMED", 0)
    return str(request.param)


@pytest.fixture
def backed_up(repo: Repository, tmp_path: Path) -> Path:
    """The builder's tree, backed up into ``repo``."""
    source = build_tree(tmp_path / "src")
    backup(repo, source)
    return source


def _nonzero_block(seed: int) -> bytes:
    """A random block whose first byte is not zero (so it is never a hole candidate)."""
    return b"\x01" + random_bytes(BLOCK - 1, seed)


def test_write_sparse_leaves_zero_blocks_as_holes(tmp_path: Path) -> None:
    data = _nonzero_block(1) + bytes(3 * BLOCK) + _nonzero_block(2) + b"\0\0\0tail" + bytes(BLOCK - 7) + bytes(100)
    path = tmp_path / "file"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert restore_writer._write_sparse(descriptor, data, 2 * BLOCK) is True
        # A block starting with zeros but holding data is written; the short zero tail is a hole.
        os.ftruncate(descriptor, 2 * BLOCK + len(data))
    finally:
        os.close(descriptor)
    assert path.read_bytes() == bytes(2 * BLOCK) + data
    assert os.stat(path).st_blocks * 512 <= 4 * BLOCK  # three data blocks (plus slack), no zeros


def test_write_sparse_writes_data_without_zero_blocks_in_one_piece(tmp_path: Path) -> None:
    data = b"".join(_nonzero_block(seed) for seed in range(8))
    path = tmp_path / "file"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert restore_writer._write_sparse(descriptor, memoryview(data), 0) is False
    finally:
        os.close(descriptor)
    assert path.read_bytes() == data


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.usefixtures("file_naming")
def test_every_blob_in_its_own_batch_restores_identically(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Files split over many batches, finished by whichever worker writes their last blob."""
    source = build_tree(tmp_path / "src")
    (source / "big.bin").write_bytes(random_bytes(300_000, 9))
    backup(repo, source)
    monkeypatch.setattr(restore_writer, "_BATCH_STORED", 1)
    monkeypatch.setattr(restore_writer, "_BATCH_FILES", 1)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out, workers=workers)
    assert describe(out) == describe(source)
    assert not list(out.rglob(f"*{restore_writer.TEMP_SUFFIX}"))


def test_each_pack_is_read_once_and_a_repeated_blob_decoded_once(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    period = random_bytes(64 * 1024, 3)
    (source / "repeats.bin").write_bytes(period * 8)  # the same chunks over and over
    (source / "random.bin").write_bytes(random_bytes(200_000, 4))
    backup(repo, source)
    snapshot = find_snapshot(repo, "latest")
    nodes = decode_tree(repo.read_blob(snapshot.tree))
    content = [blob for node in nodes for blob in node.get("content", [])]
    data_packs = {repo.index.get(bytes.fromhex(blob)).pack_id for blob in content}  # type: ignore[union-attr]
    assert len(content) > len(set(content)) and len(data_packs) > 1

    reads: list[str] = []
    decodes: list[bytes] = []
    real_read, real_decode = repo.read_pack_range, repo.decode_blob_view

    def read(pack_id: str, start: int, length: int, blob_id: bytes) -> bytes:
        reads.append(pack_id)
        return real_read(pack_id, start, length, blob_id)

    def decode(sealed: bytes | memoryview, blob_id: bytes, pack_id: str) -> bytes | memoryview:
        decodes.append(blob_id)
        return real_decode(sealed, blob_id, pack_id)

    monkeypatch.setattr(repo, "read_pack_range", read)
    monkeypatch.setattr(repo, "decode_blob_view", decode)
    out = tmp_path / "out"
    restore(repo, snapshot, out)
    assert describe(out) == describe(source)
    assert sorted(p for p in reads if p in data_packs) == sorted(data_packs)
    distinct = {bytes.fromhex(blob) for blob in content}
    assert sorted(d for d in decodes if d in distinct) == sorted(distinct)


@pytest.mark.usefixtures("file_naming")
def test_a_file_that_cannot_be_put_in_place_is_refused_and_the_old_one_kept(
    repo: Repository, tmp_path: Path, backed_up: Path
) -> None:
    out = tmp_path / "out"
    (out / "dir").mkdir(parents=True)
    (out / "dir" / "random.bin").write_text("precious old content")
    (out / "dir" / f".random.bin{restore_writer.TEMP_SUFFIX}").mkdir()  # in the way of the temporary name
    with pytest.raises(RestoreIncompleteError, match="refused 1") as info:
        restore(repo, find_snapshot(repo, "latest"), out)
    assert "dir/random.bin: " in info.value.message
    assert (out / "dir" / "random.bin").read_text() == "precious old content"
    assert (out / "dir" / "deeper" / "text.log").read_bytes() == (backed_up / "dir" / "deeper" / "text.log").read_bytes()


@pytest.mark.usefixtures("file_naming")
def test_restore_over_an_older_restore_replaces_every_file(repo: Repository, tmp_path: Path, backed_up: Path) -> None:
    source = backed_up
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out)
    (source / "dir" / "random.bin").write_bytes(random_bytes(150_000, 7))
    (source / "small.txt").write_text("changed\n")
    backup(repo, source)
    restore(repo, find_snapshot(repo, "latest"), out)
    assert describe(out) == describe(source)
    assert not list(out.rglob(f"*{restore_writer.TEMP_SUFFIX}"))


@pytest.mark.usefixtures("file_naming")
def test_a_directory_in_the_way_of_a_file_is_kept_and_no_temporary_file_left(
    repo: Repository, tmp_path: Path, backed_up: Path
) -> None:
    out = tmp_path / "out"
    (out / "exec.sh" / "inside").mkdir(parents=True)
    with pytest.raises(RestoreIncompleteError, match="refused 1") as info:
        restore(repo, find_snapshot(repo, "latest"), out)
    assert "exec.sh: " in info.value.message
    assert (out / "exec.sh" / "inside").is_dir()
    assert not list(out.rglob(f"*{restore_writer.TEMP_SUFFIX}"))


class _DirectOpens:
    """Counts the files opened for direct I/O (optionally refusing them, as tmpfs once did)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, refuse: int | None = None) -> None:
        self.opened = 0
        self.refused = 0
        real_open = os.open

        def spying_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            if flags & os.O_DIRECT:
                if refuse is not None:
                    self.refused += 1
                    raise OSError(refuse, os.strerror(refuse))
                self.opened += 1
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", spying_open)


def _large_tree(root: Path) -> Path:
    """Files that span many batches, with holes and runs of zeros at unaligned places."""
    source = build_tree(root)
    (source / "big.bin").write_bytes(random_bytes(1_000_003, 11))
    with open(source / "sparse-middle.bin", "wb") as handle:
        handle.write(random_bytes(70_001, 12))
        handle.seek(70_001 + 300 * BLOCK)  # a hole of 300 blocks, starting mid-block
        handle.write(random_bytes(90_017, 13))
    (source / "zeros-inside.bin").write_bytes(random_bytes(5_000, 14) + bytes(200_000) + random_bytes(123_456, 15))
    return source


@pytest.fixture
def large(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The large tree, backed up; restores split it into small batches, most of them
    large enough for direct I/O."""
    source = _large_tree(tmp_path / "src")
    backup(repo, source)
    monkeypatch.setattr(restore_writer, "_BATCH_STORED", 50_000)
    monkeypatch.setattr(restore_writer, "_DIRECT_MIN", 2 * BLOCK)
    return source


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.usefixtures("file_naming")
def test_direct_io_segments_with_unaligned_batch_edges_restore_identically(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: Path, workers: int
) -> None:
    """Large files split over batches at chunk (not block) boundaries: the whole blocks of
    each batch go through direct I/O, the shared edge blocks through the page cache."""
    opens = _DirectOpens(monkeypatch)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out, workers=workers)
    assert opens.opened > 10  # one per batch of a large file: the direct path really ran
    assert describe(out) == describe(large)
    restored = out / "sparse-middle.bin"
    assert restored.stat().st_blocks * 512 < restored.stat().st_size - 250 * BLOCK  # the hole stayed a hole
    assert not list(out.rglob(f"*{restore_writer.TEMP_SUFFIX}"))


@pytest.mark.parametrize("refusal", [errno.EINVAL, errno.EOPNOTSUPP])
def test_a_target_that_refuses_direct_io_gets_buffered_writes(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: Path, refusal: int
) -> None:
    opens = _DirectOpens(monkeypatch, refuse=refusal)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out, workers=1)
    assert opens.refused == 1  # asked once; every later write went straight to the page cache
    assert describe(out) == describe(large)


def test_direct_io_can_be_turned_off_and_is_off_on_large_block_filesystems(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: Path
) -> None:
    opens = _DirectOpens(monkeypatch)
    monkeypatch.setenv("SALVAGE_RESTORE_DIRECT_IO", "0")
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "off")
    monkeypatch.delenv("SALVAGE_RESTORE_DIRECT_IO")
    monkeypatch.setattr(os, "fstatvfs", lambda fd: SimpleNamespace(f_bsize=64 * 1024))
    restore(repo, find_snapshot(repo, "latest"), tmp_path / "large-blocks")
    assert opens.opened == 0
    assert describe(tmp_path / "off") == describe(large) == describe(tmp_path / "large-blocks")


def test_a_full_target_during_a_direct_write_leaves_no_partial_file(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: Path
) -> None:
    direct_descriptors: set[int] = set()
    real_open, real_pwrite = os.open, os.pwrite

    def spying_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        descriptor = real_open(path, flags, *args, **kwargs)
        if flags & os.O_DIRECT:
            direct_descriptors.add(descriptor)
        return descriptor

    def full_when_direct(descriptor: int, data: bytes, offset: int) -> int:
        if descriptor in direct_descriptors:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(descriptor, data, offset)

    monkeypatch.setattr(os, "open", spying_open)
    monkeypatch.setattr(os, "pwrite", full_when_direct)
    out = tmp_path / "out"
    with pytest.raises(TargetFullError, match="target is full"):
        restore(repo, find_snapshot(repo, "latest"), out)
    assert direct_descriptors
    assert not (out / "big.bin").exists()
    assert not list(out.rglob(f"*{restore_writer.TEMP_SUFFIX}"))
