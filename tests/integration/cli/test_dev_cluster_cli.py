"""``salvage dev cluster up`` of a new cluster, ``down --keep`` and ``down NAME``, through the
command line (kwok nodes only), beside the session's cluster."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster import processes
from salvage.devcluster.processes import ProcessRecord, is_alive
from salvage.k8s.client import KubeClient
from tests.support.cli import salvage

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh() -> Iterator[LocalCluster]:
    """A cluster name never started on this machine; removed afterwards whatever happens."""
    local = LocalCluster(f"cli-{os.getpid()}")
    assert not local.exists
    yield local
    if local.exists:
        local.down()


def _status(name: str) -> tuple[int, dict[str, object]]:
    result = salvage(None, "-o", "json", "dev", "cluster", "status", name)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def _processes(status: dict[str, object]) -> list[ProcessRecord]:
    """The components' processes, identified by pid and start time (a pid alone can be reused)."""
    components = status["components"]
    assert isinstance(components, list)
    return [ProcessRecord(c["pid"], processes._start_time(c["pid"]) or 0) for c in components if c.get("pid")]


def test_up_a_new_cluster_then_down_keep_then_up_again_then_down(fresh: LocalCluster) -> None:
    name = fresh.name
    up = salvage(None, "dev", "cluster", "up", "--name", name, "--nodes", "2", "--real-nodes", "0")
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == str(fresh.kubeconfig) and fresh.kubeconfig.is_file()
    code, status = _status(name)
    assert code == 0 and status["running"] is True, status
    with KubeClient.from_kubeconfig(str(fresh.kubeconfig)) as client:
        nodes = list(client.list("/api/v1/nodes"))
        assert len(nodes) == 2 and all(
            any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]) for n in nodes)
        client.create("/api/v1/namespaces/default/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "survives-keep"}, "data": {"k": "v"}})
    running = _processes(status)
    assert running and all(is_alive(p) for p in running)

    kept = salvage(None, "dev", "cluster", "down", name, "--keep")
    assert kept.returncode == 0, kept.stderr
    assert not any(is_alive(p) for p in running), "every component stopped"
    assert fresh.exists and Path(fresh.dir / "logs").is_dir(), "state and logs kept"
    assert _status(name)[1]["running"] is False
    stopped = salvage(None, "dev", "cluster", "status", name)
    assert stopped.returncode == 1 and f"cluster {name}: NOT running" in stopped.stdout

    again = salvage(None, "dev", "cluster", "up", "--name", name, "--real-nodes", "0")
    assert again.returncode == 0, again.stderr
    with KubeClient.from_kubeconfig(str(fresh.kubeconfig)) as client:
        assert client.get("/api/v1/namespaces/default/configmaps/survives-keep")["data"] == {"k": "v"}
    running = _processes(_status(name)[1])

    down = salvage(None, "dev", "cluster", "down", name)
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(p) for p in running)
    assert not fresh.exists and not fresh.dir.exists(), "state removed"
    gone = salvage(None, "dev", "cluster", "status", name)
    assert gone.returncode == 1 and f"There is no local cluster named '{name}'" in gone.stderr
