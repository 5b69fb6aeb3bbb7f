"""``salvage dev servers`` bookkeeping, without starting a real server (the integration
test tests/integration/servers/test_dev_servers.py starts MinIO for real)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from salvage.devcluster.processes import spawn, stop
from salvage.devcluster.servers import detached, starters
from salvage.devcluster.servers.detached import RunningServer
from salvage.model.errors import NotFoundError, ServerError, UsageError


@pytest.fixture(autouse=True)
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALVAGE_SERVERS_DIR", str(tmp_path / "servers"))
    return tmp_path / "servers"


def _record(name: str, process) -> RunningServer:
    return RunningServer(name=name, provider="s3", endpoint="http://127.0.0.1:9", bucket="salvage", process=process,
                         log_path="/dev/null", region="us-east-1",
                         credentials={"access_key_id": "k", "secret_access_key": "s e"}, env={"AWS_REGION": "us-east-1"})


@pytest.fixture
def sleeper(tmp_path: Path):
    record = spawn([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "sleeper.log")
    yield record
    stop(record)


def test_the_location_add_line_and_exports_are_shell_quoted(sleeper):
    server = _record("minio", sleeper)
    assert server.location_add() == ("salvage location add minio --provider s3 --bucket salvage --endpoint "
                                     "http://127.0.0.1:9 --region us-east-1 --credential access_key_id=k "
                                     "--credential 'secret_access_key=s e'")
    assert server.exports() == ["export AWS_REGION=us-east-1"]
    assert RunningServer.from_json(json.loads(json.dumps(server.to_json()))) == server


def test_up_finds_a_running_server_and_starts_nothing(root, sleeper, monkeypatch):
    (root / "minio").mkdir(parents=True)
    (root / "minio" / "server.json").write_text(json.dumps(_record("minio", sleeper).to_json()))
    monkeypatch.setitem(starters.STARTERS, "minio", lambda _workdir: pytest.fail("started a second MinIO"))
    assert detached.up("minio").process == sleeper
    assert [s.name for s in detached.running()] == ["minio"]


def test_up_refuses_to_start_over_the_data_of_a_dead_server(root):
    (root / "minio" / "data").mkdir(parents=True)
    with pytest.raises(ServerError, match="not running, but its data is still in"):
        detached.up("minio")
    assert (root / "minio" / "data").is_dir()  # nothing deleted unless asked


def test_a_server_that_fails_to_start_leaves_no_state(root, monkeypatch):
    def failing(_workdir: Path) -> RunningServer:
        raise ServerError("MinIO is not built")

    monkeypatch.setitem(starters.STARTERS, "minio", failing)
    with pytest.raises(ServerError, match="not built"):
        detached.up("minio")
    assert not (root / "minio").exists()


def test_down_stops_the_process_and_removes_its_directory(root, sleeper):
    (root / "minio").mkdir(parents=True)
    (root / "minio" / "server.json").write_text(json.dumps(_record("minio", sleeper).to_json()))
    detached.down("minio")
    assert not (root / "minio").exists()
    assert subprocess.run(["kill", "-0", str(sleeper.pid)], capture_output=True).returncode != 0


def test_unknown_and_absent_servers_are_clear_errors():
    with pytest.raises(UsageError, match="no test server named 'rustfs'.*"):
        detached.up("rustfs")
    with pytest.raises(NotFoundError, match="There is no minio test server here"):
        detached.down("minio")
    assert detached.running() == [] and detached.present() == []
