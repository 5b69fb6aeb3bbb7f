"""`salvage dev cluster` on real processes: up, status, env, down, side-by-side clusters,
and recovery from bad situations (a port taken, a half-started cluster)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from salvage.devcluster import processes
from salvage.devcluster.local_cluster import COMPONENTS, LocalCluster
from salvage.model.errors import ClusterError
from tests.support.builders import namespace

pytestmark = pytest.mark.integration


def salvage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salvage", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def test_cli_status_env_and_kubectl_see_ready_nodes(cluster: LocalCluster) -> None:
    status = salvage("-o", "json", "dev", "cluster", "status", cluster.name)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["running"] is True
    assert {c["name"] for c in data["components"] if c["healthy"]} == set(COMPONENTS)
    assert len([n for n in data["nodes"] if n["ready"]]) == 3

    kubeconfig = salvage("dev", "cluster", "kubeconfig", cluster.name)
    assert kubeconfig.stdout.strip() == str(cluster.kubeconfig)

    exports = salvage("dev", "cluster", "env", cluster.name).stdout
    result = subprocess.run(
        ["bash", "-c", f'eval "{exports}" && command -v kubectl && kubectl get nodes --no-headers && kubectl version -o json'],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"]},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(cluster.binary_dir())), "kubectl on PATH must be the one we built"
    nodes = [line.split() for line in lines[1:4]]
    assert [n[1] for n in nodes] == ["Ready"] * 3
    version = json.loads("\n".join(lines[4:]))
    assert version["serverVersion"]["gitVersion"] == "v1.33.13"
    assert version["clientVersion"]["gitVersion"] == "v1.33.13"


def test_up_again_is_idempotent_and_quick(cluster: LocalCluster) -> None:
    before = cluster.status()
    started = time.monotonic()
    result = salvage("dev", "cluster", "up", "--name", cluster.name, "--nodes", "3", "--real-nodes", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(cluster.kubeconfig)
    assert "already running" in result.stderr
    assert time.monotonic() - started < 120, "generous on a busy machine; speed is in benchmarks/"
    after = cluster.status()
    assert [c.pid for c in after.components] == [c.pid for c in before.components]


def test_two_clusters_side_by_side_are_independent(cluster: LocalCluster) -> None:
    other = LocalCluster(f"it2-{os.getpid()}")
    started = time.monotonic()
    try:
        other.up(nodes=1)
        up_seconds = time.monotonic() - started
        assert up_seconds < 120, f"up took {up_seconds:.1f}s once built"  # speed is in benchmarks/
        with cluster.client() as a, other.client() as b:
            assert a.connection.server != b.connection.server
            a.create("/api/v1/namespaces", namespace("only-in-a"))
            try:
                assert a.exists("/api/v1/namespaces/only-in-a")
                assert not b.exists("/api/v1/namespaces/only-in-a")
                assert len(list(b.list("/api/v1/nodes"))) == 1
                assert len(list(a.list("/api/v1/nodes"))) == 3
            finally:
                a.delete("/api/v1/namespaces/only-in-a")

        # A half-started cluster (a component killed, as by a crash) is repaired by `up`.
        state = json.loads(other.state_file.read_text())
        victim = processes.ProcessRecord.from_json(state["processes"]["kube-scheduler"])
        processes.stop(victim, grace=2)
        assert not other.status().running
        other.up(nodes=1)
        assert other.status().running
    finally:
        other.down()
    assert not other.dir.exists()
    with cluster.client() as a:
        assert a.exists("/api/v1/nodes/kwok-node-0"), "stopping one cluster must not touch the other"


def test_a_taken_port_is_refused_cleanly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        name = f"it3-{os.getpid()}"
        result = salvage("dev", "cluster", "up", "--name", name, "--port", str(port), "--real-nodes", "0")
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not LocalCluster(name).dir.exists(), "a refused start must leave nothing behind"


def test_down_of_an_unknown_cluster_says_so() -> None:
    result = salvage("dev", "cluster", "down", "no-such-cluster")
    assert result.returncode == 1
    assert "There is no local cluster named 'no-such-cluster'" in result.stderr


def test_a_component_that_cannot_start_is_named_with_its_log(tmp_path) -> None:
    name = f"it4-{os.getpid()}"
    bad = LocalCluster(name)
    bad.dir.mkdir(parents=True, exist_ok=True)
    # A file where etcd's data directory must go makes etcd exit at once.
    (bad.dir / "etcd").write_text("not a directory")
    try:
        with pytest.raises(ClusterError) as err:
            bad.up(nodes=1, timeout=30)
        assert "etcd of cluster" in err.value.message
        assert str(bad.log_path("etcd")) in (err.value.hint or "")
        assert not any(c.running for c in bad.status().components)
    finally:
        bad.down()
