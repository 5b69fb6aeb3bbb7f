"""Fixtures for tests on the real local cluster (built and started by salvage.devcluster).

The kwok cluster (`cluster`, `kube`, `ns`) and `salvage_home` are in tests/conftest.py, so
tests/faults shares the session's one cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from salvage.devcluster.cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.conftest import _client, _fresh_namespace
from tests.support.real_node_turn import real_node_turn


@pytest.fixture(scope="session")
def second_cluster() -> Iterator[LocalCluster]:
    """Another real cluster (1 kwok node), for migrations and for choosing between clusters."""
    other = LocalCluster(f"itb-{os.getpid()}")
    other.up(nodes=1)
    yield other
    other.down()


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
