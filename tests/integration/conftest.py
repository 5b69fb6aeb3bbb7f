"""Fixtures for tests on the real local cluster (built and started by salvage.devcluster).

The kwok cluster (`cluster`, `kube`, `ns`), the real-node cluster (`real_cluster`,
`real_kube`, `real_ns`) and `salvage_home` are in tests/conftest.py, so tests/faults shares
the session's clusters: a second definition of ``real_cluster`` would wait forever on the
real node's lock that its first one holds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from salvage.devcluster.local_cluster import LocalCluster


@pytest.fixture(scope="session")
def second_cluster() -> Iterator[LocalCluster]:
    """Another real cluster (1 kwok node), for migrations and for choosing between clusters."""
    other = LocalCluster(f"itb-{os.getpid()}")
    other.up(nodes=1)
    yield other
    other.down()
