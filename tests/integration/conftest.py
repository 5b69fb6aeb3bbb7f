"""Fixtures for tests on the real local cluster (built and started by salvage.devcluster)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from salvage.devcluster.cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.builders import namespace
from tests.support.real_node_turn import real_node_turn

_counter = itertools.count()


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """One real control plane with 3 kwok nodes (no container runs) for the whole session,
    removed afterwards."""
    local = LocalCluster(f"it-{os.getpid()}")
    local.up(nodes=3, real_nodes=0)
    yield local
    # SALVAGE_TEST_KEEP_CLUSTER=1 stops the cluster but keeps its logs and data to look at.
    local.down(keep=os.environ.get("SALVAGE_TEST_KEEP_CLUSTER") == "1")


@pytest.fixture(scope="session")
def second_cluster() -> Iterator[LocalCluster]:
    """Another real cluster (1 kwok node), for migrations and for choosing between clusters."""
    other = LocalCluster(f"itb-{os.getpid()}")
    other.up(nodes=1)
    yield other
    other.down()


@pytest.fixture
def salvage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Salvage's config (locations) and data (the default location, restores) for this test only."""
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="session")
def real_cluster() -> Iterator[LocalCluster]:
    """A cluster with this machine's real node (kubelet, containerd: containers run) and
    one kwok node, for behaviour that lives in a pod. A machine runs one real node at a
    time, so the whole session shares this one, and sessions in other checkouts wait their
    turn (tests/support/real_node_turn.py)."""
    with real_node_turn():
        local = LocalCluster(f"real-{os.getpid()}")
        local.up(nodes=1, real_nodes=1)
        yield local
        local.down(keep=os.environ.get("SALVAGE_TEST_KEEP_CLUSTER") == "1")


@pytest.fixture(scope="session")
def real_kube(real_cluster: LocalCluster) -> Iterator[KubeClient]:
    yield from _client(real_cluster)


@pytest.fixture
def real_ns(real_kube: KubeClient) -> Iterator[str]:
    """A fresh namespace on the real-node cluster, deleted afterwards."""
    yield from _fresh_namespace(real_kube, "r")


@pytest.fixture(scope="session")
def kube(cluster: LocalCluster) -> Iterator[KubeClient]:
    yield from _client(cluster)


@pytest.fixture
def ns(kube: KubeClient) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards."""
    yield from _fresh_namespace(kube, "t")


def _client(cluster: LocalCluster) -> Iterator[KubeClient]:
    with cluster.client() as client:
        yield client


def _fresh_namespace(kube: KubeClient, prefix: str) -> Iterator[str]:
    name = f"{prefix}{next(_counter)}-{os.getpid()}"
    kube.create("/api/v1/namespaces", namespace(name))
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
