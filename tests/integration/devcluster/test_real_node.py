"""The local cluster's real node: containers run, volumes are mounted by kubelet through the
hostpath driver's CSI node plugin, pods get IPs, Services and cluster DNS work, kubectl's
exec/logs/cp/port-forward work, and `down` leaves nothing behind on the machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from salvage.devcluster import host, node
from salvage.devcluster.local_cluster import LocalCluster, _node_owner_file
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.model.errors import ClusterError
from salvage.k8s.exec import ExecResult, exec_in_pod
from tests.support.builders import pvc, real_pod, volume_snapshot
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration


def running(kube: KubeClient, ns: str, name: str, timeout: float = 180) -> dict[str, Any]:
    return pod_ready(kube, ns, name, timeout=timeout)


def kubectl(cluster: LocalCluster, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cluster.binary_dir() / "kubectl"), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)})


def succeeded(kube: KubeClient, ns: str, pod: str, command: list[str]) -> ExecResult | None:
    """The command's result once it exits 0 (for wait_for), else None."""
    result = exec_in_pod(kube, ns, pod, command, timeout=30)
    return result if result.ok else None


def volume_dir(kube: KubeClient, ns: str, claim: str) -> Path:
    volume = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")["spec"]["volumeName"]
    return Path(kube.get(f"/api/v1/persistentvolumes/{volume}")["spec"]["csi"]["volumeAttributes"]["path"])


def test_a_container_writes_to_its_claim_through_a_real_mount(real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(f"/api/v1/namespaces/{real_ns}/persistentvolumeclaims", pvc("data"))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod(
        "writer", "echo written-by-$(hostname) > /data/proof && cat /proc/self/mountinfo && sleep 3600",
        claim="data"))
    pod = running(real_kube, real_ns, "writer")

    assert pod["spec"]["nodeName"] == node.NODE_NAME, "a pod without tolerations runs on the real node"
    assert pod["status"]["podIP"].startswith("10.88."), "pods get addresses on the node's bridge"
    result = exec_in_pod(real_kube, real_ns, "writer", ["cat", "/data/proof"])
    assert result.ok and result.stdout.strip() == "written-by-writer"
    # The same bytes are in the volume's directory: kubelet mounted the claim, not a scratch dir.
    assert (volume_dir(real_kube, real_ns, "data") / "proof").read_text().strip() == "written-by-writer"
    csinode = real_kube.get(f"/apis/storage.k8s.io/v1/csinodes/{node.NODE_NAME}")
    assert [d["name"] for d in csinode["spec"]["drivers"]] == ["hostpath.salvage.io"]


def test_services_and_cluster_dns_reach_pods(real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod(
        "web", "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -f -p 8080 -h /www",
        labels={"app": "web"}, ports=(8080,)))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    })
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("client", "sleep 3600"))
    running(real_kube, real_ns, "web")
    running(real_kube, real_ns, "client")

    url = f"http://web.{real_ns}.svc.cluster.local/index.html"
    fetched = wait_for(lambda: succeeded(real_kube, real_ns, "client", ["wget", "-qO-", url]),
                       timeout=60, what=f"{url} from a pod")  # kube-proxy's rules arrive shortly after
    assert fetched.stdout.strip() == "hello-from-web"
    # The pod's own view of DNS: the node's resolver and the namespace's search path.
    resolv = exec_in_pod(real_kube, real_ns, "client", ["cat", "/etc/resolv.conf"]).stdout
    assert f"nameserver {host.NODE_IP}" in resolv and f"search {real_ns}.svc.cluster.local" in resolv
    short = exec_in_pod(real_kube, real_ns, "client", ["wget", "-qO-", "http://web/index.html"])
    assert short.stdout.strip() == "hello-from-web"


def test_kubectl_exec_logs_cp_and_port_forward(real_cluster: LocalCluster, real_kube: KubeClient,
                                               real_ns: str, tmp_path: Path) -> None:
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod(
        "box", "echo started; mkdir -p /www && echo forwarded > /www/index.html && httpd -f -p 8080 -h /www",
        ports=(8080,)))
    running(real_kube, real_ns, "box")

    exec_ = kubectl(real_cluster, "-n", real_ns, "exec", "box", "--", "sh", "-c", "echo $((6 * 7))")
    assert exec_.returncode == 0 and exec_.stdout.strip() == "42", exec_.stderr
    logs = wait_for(lambda: kubectl(real_cluster, "-n", real_ns, "logs", "box").stdout, what="the pod's log")
    assert logs.strip() == "started"
    (tmp_path / "in.txt").write_text("copied in")
    cp = kubectl(real_cluster, "-n", real_ns, "cp", str(tmp_path / "in.txt"), "box:/tmp/in.txt")
    assert cp.returncode == 0, cp.stderr
    assert exec_in_pod(real_kube, real_ns, "box", ["cat", "/tmp/in.txt"]).stdout == "copied in"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    forward = subprocess.Popen(
        [str(real_cluster.binary_dir() / "kubectl"), "-n", real_ns, "port-forward", "pod/box", f"{port}:8080"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "KUBECONFIG": str(real_cluster.kubeconfig)})
    try:
        def fetch() -> str:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/index.html", timeout=3).text
            except httpx.HTTPError:
                return ""
        assert wait_for(fetch, timeout=30, what="the forwarded port").strip() == "forwarded"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_a_snapshot_of_a_containers_volume_restores_into_a_new_pod(real_kube: KubeClient, real_ns: str) -> None:
    base = f"/api/v1/namespaces/{real_ns}"
    real_kube.create(f"{base}/persistentvolumeclaims", pvc("source"))
    real_kube.create(f"{base}/pods", real_pod("before", "echo before-snapshot > /data/v && sleep 3600",
                                              claim="source"))
    running(real_kube, real_ns, "before")
    wait_for(lambda: exec_in_pod(real_kube, real_ns, "before", ["cat", "/data/v"]).stdout.strip(),
             what="the file to be written")
    snapshots = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{real_ns}/volumesnapshots"
    real_kube.create(snapshots, volume_snapshot("snap", "source"))
    wait_for(lambda: (real_kube.get(f"{snapshots}/snap").get("status") or {}).get("readyToUse"),
             what="the snapshot to be ready")
    exec_in_pod(real_kube, real_ns, "before", ["sh", "-c", "echo after-snapshot > /data/v"])

    real_kube.create(f"{base}/persistentvolumeclaims", pvc("restored", data_source={
        "apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}))
    real_kube.create(f"{base}/pods", real_pod("after", "sleep 3600", claim="restored"))
    running(real_kube, real_ns, "after")
    assert exec_in_pod(real_kube, real_ns, "after", ["cat", "/data/v"]).stdout.strip() == "before-snapshot"


def test_postgresql_runs_on_a_claim_and_answers_through_its_service(real_kube: KubeClient, real_ns: str) -> None:
    """The postgres image built here: initdb on a mounted claim, the server, and a client in
    another pod reaching it by the Service's DNS name (what the database method will do)."""
    real_kube.create(f"/api/v1/namespaces/{real_ns}/persistentvolumeclaims", pvc("pgdata"))
    server = real_pod("pg", "initdb -D /data/db -U postgres --auth=trust >/dev/null && "
                      "echo 'host all all 10.88.0.0/16 trust' >> /data/db/pg_hba.conf && "
                      "exec postgres -D /data/db -k /tmp -c listen_addresses='*'",
                      claim="pgdata", image=images.POSTGRES.ref, labels={"app": "pg"}, ports=(5432,))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", server)
    real_kube.create(f"/api/v1/namespaces/{real_ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg"},
        "spec": {"selector": {"app": "pg"}, "ports": [{"port": 5432}]},
    })
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("psql", "sleep 3600", image=images.POSTGRES.ref))
    running(real_kube, real_ns, "pg", timeout=240)
    running(real_kube, real_ns, "psql", timeout=240)

    sql = "create table t (x int); insert into t values (42); select x from t"
    wait_for(lambda: succeeded(real_kube, real_ns, "pg", ["pg_isready", "-h", "/tmp"]),
             timeout=120, what="PostgreSQL to accept connections")
    local = exec_in_pod(real_kube, real_ns, "pg", ["psql", "-h", "/tmp", "-U", "postgres", "-tAc", sql])
    assert local.stdout.splitlines()[-1:] == ["42"], local.stderr
    remote = wait_for(lambda: succeeded(real_kube, real_ns, "psql", [
        "psql", "-h", f"pg.{real_ns}.svc.cluster.local", "-U", "postgres", "-tAc", "select count(*) from t"]),
        timeout=60, what="PostgreSQL through its Service")
    assert remote.stdout.strip() == "1", remote.stderr
    # The database's files are on the claim's volume.
    assert (volume_dir(real_kube, real_ns, "pgdata") / "db" / "PG_VERSION").read_text().strip() == "15"


def test_a_pod_reaches_the_api_server_with_its_service_account(real_kube: KubeClient, real_ns: str) -> None:
    """What the operator and the data mover will do: the salvage image, in a pod, talks to
    the API server through the `kubernetes` Service with the pod's own token."""
    real_kube.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{real_ns}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": real_ns}],
    })
    real_kube.create(f"/api/v1/namespaces/{real_ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "marker"}, "data": {"k": "v"}})
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod(
        "cli", "salvage --version && sleep 3600", image=images.SALVAGE.ref))
    running(real_kube, real_ns, "cli", timeout=180)

    listed = exec_in_pod(real_kube, real_ns, "cli", ["python3", "-c", (
        "from salvage.k8s.client import KubeClient\n"
        "from salvage.k8s.kubeconfig import load_connection\n"
        "c = KubeClient(load_connection())\n"
        f"print(sorted(o['metadata']['name'] for o in c.list('/api/v1/namespaces/{real_ns}/configmaps')))\n"
    )], timeout=60)
    assert listed.ok, listed.stderr
    assert "'marker'" in listed.stdout


def test_down_leaves_nothing_behind_and_up_brings_the_node_back(real_cluster: LocalCluster, real_kube: KubeClient,
                                                                 real_ns: str) -> None:
    real_kube.create(f"/api/v1/namespaces/{real_ns}/persistentvolumeclaims", pvc("data"))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("busy", "sleep 3600", claim="data"))
    running(real_kube, real_ns, "busy")
    state = json.loads(real_cluster.state_file.read_text())
    assert host.our_chains(), "kube-proxy and the CNI plugins add chains while the node runs"

    real_cluster.down(keep=True)

    assert host.mounts_under(real_cluster.dir) == [], "no container root, volume or netns mount stays"
    assert host.processes_mentioning(str(real_cluster.node.containerd_socket)) == [], "no shim stays"
    assert host.cgroup_processes() == [], "no container process stays"
    assert not Path(f"/sys/class/net/{host.BRIDGE}").exists() and host.attached_interfaces() == []
    assert host.our_chains() == [] and host.our_chains("ip6tables") == []
    assert host.save_kernel_settings() == state["kernel"], "kernel settings are as they were before `up`"

    started = time.monotonic()
    real_cluster.up(nodes=1, real_nodes=1)
    print(f"real-node cluster restarted (warm, data kept) in {time.monotonic() - started:.1f}s")
    with real_cluster.client() as client:
        # The pod's record survived in etcd; kubelet starts it again on the new node process.
        pod = running(client, real_ns, "busy", timeout=180)
        assert pod["spec"]["nodeName"] == node.NODE_NAME


def test_a_second_real_node_on_the_machine_is_refused_cleanly(real_cluster: LocalCluster) -> None:
    other = LocalCluster(f"real2-{os.getpid()}")
    with pytest.raises(Exception) as error:
        other.up(nodes=1, real_nodes=1)
    assert real_cluster.name in str(error.value) and "--real-nodes 0" in str(getattr(error.value, "hint", ""))
    assert not other.exists or not json.loads(other.state_file.read_text()).get("processes")
    if other.dir.exists():
        other.down()
    assert real_cluster.status().running, "the running real node is untouched"


def test_a_node_part_that_cannot_start_is_named_with_its_log_and_leaves_nothing(real_cluster: LocalCluster) -> None:
    """containerd failing at start (its state directory is a file here) stops the whole
    cluster with containerd named and its log's last lines shown, and takes the node apart
    as `down` does; the next `up` after the cause is gone works."""
    real_cluster.down(keep=True)
    saved_kernel = host.save_kernel_settings()
    state_dir = real_cluster.node.dir / "containerd" / "state"
    subprocess.run(["rm", "-rf", str(state_dir)], check=True)
    state_dir.write_text("not a directory")
    try:
        with pytest.raises(ClusterError) as error:
            real_cluster.up(nodes=1, real_nodes=1, timeout=60)
        message = error.value.message
        assert f"containerd of cluster {real_cluster.name} exited during start-up" in message
        assert "state" in message.split("\n", 1)[1], "the log's last lines say what containerd could not do"
        assert str(real_cluster.log_path("containerd")) in (error.value.hint or "")
        assert not any(c.running for c in real_cluster.status().components)
        assert host.cgroup_processes() == [] and host.mounts_under(real_cluster.dir) == []
        assert not Path(f"/sys/class/net/{host.BRIDGE}").exists() and host.our_chains() == []
        assert host.save_kernel_settings() == saved_kernel
        assert host.node_owner(_node_owner_file()) is None, "a failed start releases the machine's node"
    finally:
        state_dir.unlink(missing_ok=True)
    real_cluster.up(nodes=1, real_nodes=1)
    assert real_cluster.status().running
