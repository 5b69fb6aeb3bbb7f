"""The real node's start-up costs: a cluster with a real node from stopped processes to Ready
(warm: components and images built, state kept) and from nothing (state removed, images
imported again), and a StatefulSet from apply to a Running container that has written to its
mounted claim; the kwok-only start beside them for reference.

    python benchmarks/real_node_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    action()
    return time.monotonic() - started


def apply_to_running(kube: KubeClient, ns: str, name: str) -> float:
    """StatefulSet created -> its pod's container has written to the claim (read back by exec)."""
    labels = {"app": name}
    started = time.monotonic()
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "app", "image": images.BUSYBOX.ref,
                                     "command": ["sh", "-c", "echo up > /data/up; sleep 3600"],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    deadline = started + 300
    while time.monotonic() < deadline:
        pod = None
        try:
            pod = kube.get(f"/api/v1/namespaces/{ns}/pods/{name}-0")
        except Exception:  # noqa: BLE001 - not created yet
            pass
        if pod and pod.get("status", {}).get("phase") == "Running":
            if exec_in_pod(kube, ns, f"{name}-0", ["cat", "/data/up"]).stdout.strip() == "up":
                return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"{name}-0 did not run within 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images.build(images.ESSENTIAL)
    real, kwok = LocalCluster("bench-real"), LocalCluster("bench-kwok")
    cold, warm, kwok_start, pod_s = [], [], [], []
    try:
        for round_ in range(args.rounds):
            if real.exists:
                real.down()
            cold.append(timed(lambda: real.up(nodes=1, real_nodes=1)))
            real.down(keep=True)
            warm.append(timed(lambda: real.up(nodes=1, real_nodes=1)))
            with real.client() as kube:
                ns = f"bench-{round_}"
                kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                pod_s.append(apply_to_running(kube, ns, "app"))
            if kwok.exists:
                kwok.down()
            kwok_start.append(timed(lambda: kwok.up(nodes=1, real_nodes=0)))
            kwok.down()
    finally:
        for cluster in (real, kwok):
            if cluster.exists:
                cluster.down()

    def show(values: list[float]) -> str:
        return f"median {statistics.median(values):.1f}s (runs: {', '.join(f'{v:.1f}' for v in values)})"

    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} ({os.cpu_count()} cores), "
          f"{args.rounds} rounds")
    print(f"real-node cluster up, fresh state (images imported): {show(cold)}")
    print(f"real-node cluster up, warm (state kept):             {show(warm)}")
    print(f"kwok-only cluster up, fresh state:                   {show(kwok_start)}")
    print(f"StatefulSet apply -> container wrote its claim:      {show(pod_s)}")


if __name__ == "__main__":
    main()
