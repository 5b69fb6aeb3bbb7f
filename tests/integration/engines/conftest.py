"""Backups and restores through the CLI (in a subprocess), each test with its own config and data dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from salvage.devcluster.cluster import LocalCluster

Salvage = Callable[..., subprocess.CompletedProcess[str]]


def cli_for(cluster: LocalCluster) -> Salvage:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "salvage", "--kubeconfig", str(cluster.kubeconfig), *args],
            capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"salvage {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result
    return run


@pytest.fixture
def salvage(cluster: LocalCluster, salvage_home: Path) -> Salvage:
    return cli_for(cluster)
