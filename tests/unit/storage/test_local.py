from __future__ import annotations

import errno
from pathlib import Path

import pytest

from salvage.storage.errors import ObjectNotFoundError, StorageError
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


# A store error says the cause underneath when there is a clearer one (the sweep's
# `salvage repo init --repo /proc/forbidden` said an object did not exist).


def test_a_directory_that_cannot_be_created_is_the_error_not_a_missing_object() -> None:
    store = LocalStore("/proc/forbidden", fsync=False)
    with pytest.raises(StorageError) as raised:
        store.put("keys/abc", b"x")
    assert not isinstance(raised.value, ObjectNotFoundError)
    assert raised.value.message == (
        "cannot write to /proc/forbidden: /proc/forbidden cannot be created in /proc (No such file or directory)")
    assert "this user can create and write" in (raised.value.hint or "")


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = LocalStore(tmp_path / "file" / "repo", fsync=False)
    for operation in (lambda: store.put("config", b"x"), lambda: store.put_if_absent("locks/a", b"x"),
                      lambda: store.get("config")):
        with pytest.raises(StorageError, match=f"{tmp_path / 'file'} is a file, not a directory"):
            operation()


def test_permission_denied_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "repo" / "config"

    def refused(*_args: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr("os.replace", refused)
    with pytest.raises(StorageError, match=f"permission denied on {target} \\(not writable by this user\\)"):
        LocalStore(tmp_path / "repo", fsync=False).put("config", b"x")


def test_a_missing_object_is_still_a_missing_object(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError):
        LocalStore(tmp_path, fsync=False).get("keys/none")


@pytest.mark.parametrize("put", ["put", "put_if_absent"])
def test_a_write_that_fills_the_disk_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              put: str) -> None:
    """Found by tests/faults/test_full.py: a backup onto a full disk left its half-written
    ``.salvage-tmp`` files (a pack, a resource stream) behind, on the disk already full."""
    store = LocalStore(tmp_path)

    def full_disk(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", full_disk)  # the data reaches the disk only at fsync: a full one says so there
    with pytest.raises(StorageError, match="no space left"):
        getattr(store, put)("data/k", b"x" * 4096)
    assert [p.name for p in (tmp_path / "data").iterdir()] == []
