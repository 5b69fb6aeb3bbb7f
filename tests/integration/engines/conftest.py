"""Backups and restores through the CLI (in a subprocess), each test with its own config and data dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.builders import namespace

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


@pytest.fixture
def other_ns(kube: KubeClient, ns: str) -> Iterator[str]:
    """A second fresh namespace beside ``ns`` (to restore or recover into), deleted afterwards."""
    name = f"{ns}-copy"
    kube.create("/api/v1/namespaces", namespace(name))
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
