"""``salvage location add``: a malformed endpoint is refused, an unreachable location is
not saved unless --no-check, and nothing is ever written to the location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from salvage.devcluster.processes import free_ports
from salvage.locations import list_locations
from tests.support.cli import Result, run_main

CREDS = ["--region", "us-east-1", "--credential", "access_key_id=a", "--credential", "secret_access_key=b"]


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def add(*args: str) -> Result:
    return run_main(["location", "add", *args], dict(os.environ))


def names() -> list[str]:
    return [spec.name for spec in list_locations()]


def test_a_malformed_endpoint_is_refused_and_nothing_is_saved():
    result = add("x", "--provider", "s3", "--bucket", "b", "--endpoint", "notaurl")
    assert result.returncode == 2
    assert "error: The endpoint 'notaurl' of location 'x' is not an http(s) URL" in result.stderr
    assert names() == ["default"]


def test_an_unreachable_endpoint_is_not_saved_unless_no_check():
    [port] = free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    result = add("x", "--provider", "s3", "--bucket", "b", "--endpoint", endpoint, *CREDS)
    assert result.returncode == 1
    assert f"error: Location x was not added: s3://b: cannot connect to {endpoint} (Connection refused)" in result.stderr
    assert "or add it with --no-check" in result.stderr
    assert names() == ["default"]

    result = add("x", "--provider", "s3", "--bucket", "b", "--endpoint", endpoint, "--no-check")
    assert result.returncode == 0, result.stderr
    assert names() == ["default", "x"]


def test_a_reachable_location_is_listed_and_not_written(dirs):
    result = add("nas", "--path", str(dirs / "nas"))
    assert result.returncode == 0, result.stderr
    assert "reached: 0 backup(s)" in result.stderr
    assert not (dirs / "nas").exists()
    assert names() == ["default", "nas"]
