"""Start-up logic of the test servers, exercised with tiny real processes (no server builds)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.build import component_dir
from salvage.devcluster.components import AZURITE_VERSION, FAKE_GCS, MINIO, PROMTOOL, TOXIPROXY
from salvage.devcluster.processes import ProcessRecord, is_alive, spawn
from salvage.devcluster.servers import install, start_fake_gcs, start_minio, start_s3_server, start_toxiproxy
from salvage.devcluster.servers import launch as launch_module
from salvage.devcluster.servers.launch import Probe, launch
from salvage.model.errors import ServerError, UsageError


def http_server(ports: list[int]) -> list[str]:
    return [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(ports[0])]


def test_launch_returns_once_the_probe_answers_and_stop_ends_it(tmp_path: Path) -> None:
    launched = launch("toy", http_server, Probe("/", {200}), log_path=tmp_path / "toy.log", timeout=20)
    try:
        assert launched.alive
        assert Probe("/", {200}).answers(launched.port)
        assert not Probe("/missing", {200}).answers(launched.port)  # 404 is not in {200}
    finally:
        launched.stop()
    assert not launched.alive


def test_launch_reports_an_early_exit_with_the_log_tail(tmp_path: Path) -> None:
    def crashing(ports: list[int]) -> list[str]:
        return [sys.executable, "-c", "print('bad flag --frobnicate'); raise SystemExit(3)"]

    with pytest.raises(ServerError) as caught:
        launch("toy", crashing, Probe(), log_path=tmp_path / "toy.log", timeout=20)
    assert "toy test server exited during start-up" in caught.value.message
    assert "bad flag --frobnicate" in caught.value.message
    assert str(tmp_path / "toy.log") in (caught.value.hint or "")


def test_launch_times_out_and_leaves_no_process_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[ProcessRecord] = []

    def recording_spawn(*args: Any, **kwargs: Any) -> ProcessRecord:
        spawned.append(spawn(*args, **kwargs))
        return spawned[-1]

    monkeypatch.setattr(launch_module, "spawn", recording_spawn)

    def silent(ports: list[int]) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    with pytest.raises(ServerError, match="did not become ready within 1s"):
        launch("toy", silent, Probe(), log_path=tmp_path / "toy.log", timeout=1)
    [record] = spawned
    assert not is_alive(record)


def test_launch_retries_on_fresh_ports_when_a_port_was_taken(tmp_path: Path) -> None:
    taken: list[socket.socket] = []

    def first_loses_the_race(ports: list[int]) -> list[str]:
        if not taken:
            # Another program binds our port between free_ports() and the server's bind.
            sock = socket.socket()
            sock.bind(("127.0.0.1", ports[0]))
            sock.listen()
            taken.append(sock)
            return [sys.executable, "-c", "raise SystemExit('address already in use')"]
        return http_server(ports)

    try:
        launched = launch("toy", first_loses_the_race, Probe("/", {200}), log_path=tmp_path / "toy.log", timeout=20)
        launched.stop()
        assert launched.port != taken[0].getsockname()[1]
    finally:
        for sock in taken:
            sock.close()


def test_unknown_s3_implementation_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Unknown S3 test server 'ceph'"):
        start_s3_server(tmp_path, "ceph")


@pytest.mark.parametrize("start", [start_minio, start_fake_gcs, start_toxiproxy])
def test_a_missing_build_says_how_to_build_it(
    start: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALVAGE_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(ServerError, match="is not built") as caught:
        start(tmp_path)  # type: ignore[operator]
    assert "salvage dev build --test-servers" in (caught.value.hint or "")


def test_ensure_servers_builds_only_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_CACHE_DIR", str(tmp_path))
    built: list[str] = []
    monkeypatch.setattr(install, "_check_go", lambda: None)
    monkeypatch.setattr(install, "build_component", lambda c: built.append(c.name))
    monkeypatch.setattr(install, "install_azurite", lambda: built.append("azurite"))
    minio_marker = component_dir(MINIO) / ".complete"
    minio_marker.parent.mkdir(parents=True)
    minio_marker.write_text("done\n")

    messages: list[str] = []
    binaries = install.ensure_servers(messages.append)

    assert built == ["fake-gcs-server", "toxiproxy", "promtool", "azurite"]
    assert any("building fake-gcs-server" in m for m in messages)
    assert binaries.minio == minio_marker.parent / "bin" / "minio"
    assert os.fspath(binaries.azurite_blob).startswith(os.fspath(tmp_path))


def test_server_binaries_match_the_pinned_components(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_CACHE_DIR", str(tmp_path))
    binaries = install.server_binaries()
    for component, path in ((MINIO, binaries.minio), (FAKE_GCS, binaries.fake_gcs_server),
                            (TOXIPROXY, binaries.toxiproxy), (PROMTOOL, binaries.promtool)):
        assert path == component_dir(component) / "bin" / component.binaries[0]
    assert AZURITE_VERSION in str(binaries.azurite_blob)
