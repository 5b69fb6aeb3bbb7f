"""``salvage dev servers up minio`` for real: the command returns, MinIO keeps running,
and the line it prints adds a working S3 location; ``down`` stops it and removes it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALVAGE_", "AWS_"))}
    env.update(SALVAGE_SERVERS_DIR=str(tmp_path / "servers"), SALVAGE_CONFIG_DIR=str(tmp_path / "config"),
               SALVAGE_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1")
    yield env
    salvage(env, "dev", "servers", "down")  # whatever the test left running


def salvage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "salvage", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_minio_up_add_the_location_use_it_down(env: dict[str, str], tmp_path: Path) -> None:
    started = salvage(env, "dev", "servers", "up", "minio")
    assert started.returncode == 0, started.stderr
    add_line = started.stdout.strip()
    words = shlex.split(add_line)
    assert words[:4] == ["salvage", "location", "add", "minio"], add_line
    endpoint = words[words.index("--endpoint") + 1]
    # The command has exited; the server has not.
    assert httpx.get(f"{endpoint}/minio/health/ready", timeout=5).status_code == 200

    again = salvage(env, "dev", "servers", "up", "minio", "-o", "json")
    assert again.returncode == 0 and f'"endpoint": "{endpoint}"' in again.stdout  # the same one, not a second

    added = salvage(env, *words[1:])  # the printed line, as the user would paste it
    assert added.returncode == 0, added.stderr
    assert "reached: 0 backup(s)" in added.stderr
    checked = salvage(env, "location", "check", "minio")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "put, get and delete of a probe object" in checked.stdout

    # A bucket that does not exist is said so, and not saved.
    other = [*words[1:3], "other", *words[4:]]
    other[other.index("--bucket") + 1] = "nosuch"
    missing = salvage(env, *other)
    assert missing.returncode == 1
    assert f"error: Location other was not added: s3://nosuch: the bucket does not exist at {endpoint}" \
        in missing.stderr

    # The exports serve the providers' own tools, and Salvage's repository URLs too.
    exports = salvage(env, "dev", "servers", "env")
    assert f"export AWS_ENDPOINT_URL={endpoint}" in exports.stdout
    aws = dict(line.removeprefix("export ").split("=", 1) for line in exports.stdout.splitlines()
               if line.startswith("export "))
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("hello\n")
    repo = f"s3://salvage/repo?endpoint={endpoint}&region={aws['AWS_REGION']}"
    repo_env = {**env, **aws, "SALVAGE_REPO": repo, "SALVAGE_REPO_PASSWORD": "pw"}
    assert salvage(repo_env, "repo", "init").returncode == 0
    backed = salvage(repo_env, "fs", "backup", str(tmp_path / "files"))
    assert backed.returncode == 0, backed.stderr

    stopped = salvage(env, "dev", "servers", "down", "minio")
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "servers" / "minio").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{endpoint}/minio/health/ready", timeout=2)
