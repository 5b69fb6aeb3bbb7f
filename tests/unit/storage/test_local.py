from __future__ import annotations

import errno
from pathlib import Path

import pytest

from salvage.storage.errors import StorageError
from salvage.storage.local import LocalStore


def test_a_failed_put_leaves_no_partial_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path, fsync=False)
    store.put("k", b"old")

    def full_disk(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    with pytest.raises(StorageError, match="no space left"):
        store.put("k", b"new")
    assert store.get("k") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_temp_files_are_invisible_to_list(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, fsync=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".x.1234.salvage-tmp").write_bytes(b"half")
    store.put("data/real", b"1")
    assert [i.key for i in store.list("data/")] == ["data/real"]
