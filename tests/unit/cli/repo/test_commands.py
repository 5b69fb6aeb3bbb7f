"""The repo and fs commands end to end through the real CLI entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[4] / "src")


def salvage(*args: str, env: dict[str, str] | None = None, runner: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SALVAGE_")}
    full_env.update(PYTHONPATH=SRC, **(env or {}))
    return subprocess.run(
        [*runner, sys.executable, "-m", "salvage", *args], env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha\n" * 1000)
    (source / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    return source, tmp_path / "repo", {"SALVAGE_REPO_PASSWORD": "pw", "SALVAGE_REPO": str(tmp_path / "repo")}


def test_init_backup_snapshots_restore_check(setup: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    source, _repo, env = setup
    assert salvage("repo", "init", env=env).returncode == 0
    backed = salvage("fs", "backup", str(source), "--tag", "daily", env=env)
    assert backed.returncode == 0, backed.stderr
    assert "2 new" in backed.stdout
    listed = salvage("-o", "json", "repo", "snapshots", env=env)
    snapshots = json.loads(listed.stdout)
    assert [s["tags"] for s in snapshots] == [["daily"]]
    target = tmp_path / "out"
    restored = salvage("fs", "restore", snapshots[0]["short_id"], "--target", str(target), "--include", "sub", env=env)
    assert restored.returncode == 0, restored.stderr
    assert (target / "sub" / "b.bin").read_bytes() == (source / "sub" / "b.bin").read_bytes()
    assert not (target / "a.txt").exists()
    checked = salvage("repo", "check", "--read-data", env=env)
    assert checked.returncode == 0 and "no errors" in checked.stdout


def test_missing_password_and_wrong_password(setup: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    _source, repo, env = setup
    assert salvage("repo", "init", env=env).returncode == 0
    none = salvage("repo", "snapshots", "--repo", str(repo))
    assert none.returncode == 2 and "no repository password" in none.stderr
    assert "Traceback" not in none.stderr
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("nope\n")
    wrong = salvage("repo", "snapshots", "--repo", str(repo), "--password-file", str(wrong_file))
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr


def test_check_fails_with_exit_1_on_a_missing_pack(setup: tuple[Path, Path, dict[str, str]]) -> None:
    source, repo, env = setup
    salvage("repo", "init", env=env)
    salvage("fs", "backup", str(source), env=env)
    pack = next((repo / "data").rglob("*"))
    while pack.is_dir():
        pack = next(pack.iterdir())
    pack.unlink()
    checked = salvage("repo", "check", env=env)
    assert checked.returncode == 1
    assert f"pack {pack.name} is missing" in checked.stderr


def test_prune_stats_unlock(setup: tuple[Path, Path, dict[str, str]]) -> None:
    source, _repo, env = setup
    salvage("repo", "init", env=env)
    salvage("fs", "backup", str(source), env=env)
    (source / "a.txt").write_text("changed")
    salvage("fs", "backup", str(source), env=env)
    pruned = salvage("-o", "json", "repo", "prune", "--keep-last", "1", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert len(json.loads(pruned.stdout)["forgotten"]) == 1
    stats = json.loads(salvage("-o", "json", "repo", "stats", env=env).stdout)
    assert stats["snapshots"] == 1
    assert salvage("repo", "unlock", env=env).returncode == 0


def test_restore_warns_about_attributes_it_could_not_set(setup: tuple[Path, Path, dict[str, str]],
                                                         tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux), to restore without the privilege trusted.* needs")
    source, _repo, env = setup
    os.setxattr(source / "a.txt", "trusted.origin", b"lab")
    salvage("repo", "init", env=env)
    salvage("fs", "backup", str(source), env=env)
    unprivileged = ("setpriv", "--bounding-set", "-sys_admin")  # still root, but trusted.* needs CAP_SYS_ADMIN
    restored = salvage("fs", "restore", "latest", "--target", str(tmp_path / "out"), env=env, runner=unprivileged)
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "alpha\n" * 1000
    assert f"{tmp_path / 'out' / 'a.txt'}: trusted.origin (Operation not permitted)" in restored.stderr
    assert "1 extended attribute on 1 file could not be restored (the data was)" in restored.stderr


def test_init_where_no_directory_can_be_made_says_why() -> None:
    """The sweep's finding: it said an object `keys/...` did not exist in the store."""
    result = salvage("repo", "init", "--repo", "/proc/forbidden", env={"SALVAGE_REPO_PASSWORD": "pw"})
    assert result.returncode == 1
    assert "error: cannot write to /proc/forbidden: /proc/forbidden cannot be created in /proc" in result.stderr
    assert "does not exist in the store" not in result.stderr
