"""Extended attributes and POSIX ACLs survive backup and restore; those that cannot be set are reported."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salvage.repo.backup import backup
from salvage.repo.repository import Repository
from salvage.repo.restore_files import RestoreResult, restore
from salvage.repo.snapshots import find_snapshot
from salvage.repo.tree import decode_tree
from tests.support.cli import Result, salvage

from .conftest import xattrs_of

_NOBODY = 65534


def test_xattrs_of_every_kind_of_entry_and_the_root(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    (source / "dir" / "file").write_bytes(b"data")
    os.mkfifo(source / "fifo")
    (source / "plain").write_bytes(b"no attributes")
    values = {"user.empty": b"", "user.binary": b"\x00\xff\xfe not utf-8", "user.ünïcode": b"wert"}
    (source / "link").symlink_to("plain")
    for path in (source, source / "dir", source / "dir" / "file"):
        for name, value in values.items():
            os.setxattr(path, name, value)
    privileged = os.geteuid() == 0  # user.* is for files and directories only; trusted.* needs root
    if privileged:
        os.setxattr(source / "fifo", "trusted.kind", b"fifo")
        os.setxattr(source / "link", "trusted.kind", b"link", follow_symlinks=False)
    backup(repo, source)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out)
    for rel in (".", "dir", "dir/file"):
        assert dict(xattrs_of(out / rel)) == values, rel
    assert xattrs_of(out / "plain") == ()
    if privileged:
        assert xattrs_of(out / "fifo") == (("trusted.kind", b"fifo"),)
        assert xattrs_of(out / "link") == (("trusted.kind", b"link"),)


def test_a_file_without_attributes_has_no_xattrs_key(repo: Repository, tmp_path: Path) -> None:
    """So a tree of such files encodes exactly as trees did before xattrs were stored."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "plain").write_bytes(b"x")
    snapshot = find_snapshot(repo, backup(repo, source).snapshot_id)
    [node] = decode_tree(repo.read_blob(snapshot.tree))
    assert "xattrs" not in node
    assert "xattrs" not in snapshot.wire["root"]


def test_values_are_base64_in_the_tree(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "f").write_bytes(b"x")
    os.setxattr(source / "f", "user.k", b"\xff\x00")
    snapshot = find_snapshot(repo, backup(repo, source).snapshot_id)
    [node] = json.loads(repo.read_blob(snapshot.tree))["nodes"]
    assert node["xattrs"] == {"user.k": "/wA="}


@pytest.mark.skipif(shutil.which("setfacl") is None, reason="setfacl missing: run scripts/install-deps")
def test_posix_acls_round_trip(repo: Repository, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "shared").mkdir(parents=True)
    (source / "shared" / "report").write_text("q3\n")
    subprocess.run(["setfacl", "-m", "u:1234:rw,g:2345:r", str(source / "shared" / "report")], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:1234:rwx", str(source / "shared")], check=True)
    before = {rel: _acl(source / rel) for rel in ("shared", "shared/report")}
    assert "user:1234:rw-" in before["shared/report"] and "default:user:1234:rwx" in before["shared"]
    backup(repo, source)
    out = tmp_path / "out"
    restore(repo, find_snapshot(repo, "latest"), out)
    assert {rel: _acl(out / rel) for rel in ("shared", "shared/report")} == before
    assert os.stat(out / "shared" / "report").st_mode == os.stat(source / "shared" / "report").st_mode


def _acl(path: Path) -> str:
    return subprocess.run(["getfacl", "--omit-header", "--numeric", str(path)],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def nobody_target() -> Iterator[Path]:
    """A restore target an unprivileged user owns, outside pytest's root-only directories."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to restore as another user")
    target = Path(tempfile.mkdtemp(prefix="salvage-xattr-"))
    os.chown(target, _NOBODY, _NOBODY)
    yield target
    shutil.rmtree(target)


def test_attributes_that_cannot_be_set_are_reported_and_the_data_restored(
        repo: Repository, tmp_path: Path, nobody_target: Path) -> None:
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    for name in ("a", "b"):
        (source / "dir" / name).write_bytes(name.encode() * 100)
        os.setxattr(source / "dir" / name, "trusted.origin", b"lab")  # only root may set trusted.*
        os.setxattr(source / "dir" / name, "user.note", b"kept")
    backup(repo, source)

    result = _restore_as_nobody(repo, nobody_target / "out")

    for name in ("a", "b"):
        restored = nobody_target / "out" / "dir" / name
        assert restored.read_bytes() == name.encode() * 100
        assert dict(xattrs_of(restored)) == {"user.note": b"kept"}
    assert (result.xattr_failures, result.xattr_failed_files) == (2, 2)
    assert sorted(result.xattrs_not_restored) == [
        f"{nobody_target / 'out' / 'dir' / name}: trusted.origin (Operation not permitted)" for name in ("a", "b")]


def _restore_as_nobody(repo: Repository, target: Path) -> RestoreResult:
    """Restore in a forked child that dropped root (the in-memory repository comes along)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgid(_NOBODY)
            os.setuid(_NOBODY)
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(restore(repo, find_snapshot(repo, "latest"), target), pipe)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the unprivileged restore failed"
    restored: RestoreResult = pickle.loads(data)
    return restored


def _refusing(real: Any, refused: str) -> Any:
    """``os.setxattr`` with the kernel's refusal (EPERM) of one attribute injected, so every
    run (root or not) takes the path an unprivileged restore of ``trusted.*`` takes."""
    def setxattr(target: Any, attribute: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        if attribute == refused:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        real(target, attribute, value, *args, **kwargs)
    return setxattr


def _cli(env: dict[str, str], *args: str) -> Result:
    return salvage(Path("/nonexistent/kubeconfig"), *args, env=env)


def test_a_refused_attribute_is_a_warning_and_the_rest_is_restored(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    for name in ("a", "b"):
        (source / "dir" / name).write_bytes(name.encode() * 100)
        os.setxattr(source / "dir" / name, "user.guarded", b"lab")
        os.setxattr(source / "dir" / name, "user.note", b"kept")
    env = {"SALVAGE_REPO": str(tmp_path / "repo"), "SALVAGE_REPO_PASSWORD": "pw"}
    assert _cli(env, "repo", "init").returncode == 0
    assert _cli(env, "fs", "backup", str(source)).returncode == 0
    out = tmp_path / "out"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "setxattr", _refusing(os.setxattr, "user.guarded"))
        restored = _cli(env, "-o", "json", "fs", "restore", "latest", "--target", str(out))

    assert restored.returncode == 0, restored.stderr
    for name in ("a", "b"):
        assert (out / "dir" / name).read_bytes() == name.encode() * 100
        assert dict(xattrs_of(out / "dir" / name)) == {"user.note": b"kept"}
    report = json.loads(restored.stdout)
    assert (report["xattr_failures"], report["xattr_failed_files"]) == (2, 2)
    assert sorted(report["xattrs_not_restored"]) == [
        f"{out / 'dir' / name}: user.guarded (Operation not permitted)" for name in ("a", "b")]
    assert "warning:" in restored.stderr and "user.guarded (Operation not permitted)" in restored.stderr
