"""The operator on the local cluster (kwok nodes): idle memory, and memory and time of a
backup of N ConfigMaps handed to it as a Backup object (beside the CLI's numbers in
k8s_objects_bench.py).

The operator runs as `salvage operator run` in its own process; its resident memory is
sampled every 0.1 s from /proc (a sampled peak, not VmHWM, which a forked child inherits).

    python benchmarks/operator_bench.py --objects 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from k8s_objects_bench import populate  # noqa: E402

from salvage.devcluster.local_cluster import LocalCluster  # noqa: E402
from salvage.k8s.apply import CRDS, apply, wait_established  # noqa: E402
from salvage.operator.crds import API_VERSION, collection, crds  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10000)
    args = parser.parse_args()
    cluster = LocalCluster(f"opbench-{os.getpid()}")
    cluster.up(nodes=1, real_nodes=0)
    try:
        with cluster.client() as client, tempfile.TemporaryDirectory() as store:
            for crd in crds():
                apply(client, CRDS, crd)
            wait_established(client, [c["metadata"]["name"] for c in crds()])
            ns = "salvage"
            client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            client.create(collection("backuplocations", ns), {
                "apiVersion": API_VERSION, "kind": "BackupLocation", "metadata": {"name": "local"},
                "spec": {"provider": "filesystem", "bucket": store, "default": True}})
            print(f"created {args.objects} ConfigMaps in {populate(client, 'bench', args.objects):.1f}s")
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
            operator = subprocess.Popen([sys.executable, "-m", "salvage", "--kubeconfig", str(cluster.kubeconfig),
                                         "operator", "run", "-n", ns, "--metrics-port", "0"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                path = f"{collection('backuplocations', ns)}/local"
                while (client.get(path).get("status") or {}).get("phase") != "Available":
                    time.sleep(0.2)
                time.sleep(10)  # idle: leading, nothing to do
                idle = rss_kib(operator.pid)
                peak, done = idle, threading.Event()

                def sample() -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, rss_kib(operator.pid))
                        time.sleep(0.1)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.monotonic()
                client.create(collection("backups", ns), {
                    "apiVersion": API_VERSION, "kind": "Backup", "metadata": {"name": "bench"},
                    "spec": {"includeNamespaces": ["bench"], "snapshotVolumes": False}})
                item = f"{collection('backups', ns)}/bench"
                while (status := client.get(item).get("status") or {}).get("phase") not in (
                        "Completed", "PartiallyFailed", "Failed"):
                    time.sleep(0.1)
                seconds = time.monotonic() - started
                done.set()
                sampler.join()
                print(f"operator idle RSS: {idle / 1024:.0f} MiB")
                print(f"backup of {status['items']} objects by the operator: {status['phase']} in {seconds:.1f}s "
                      f"(object created to status Completed), {status['items'] / seconds:,.0f} objects/s, "
                      f"peak RSS {peak / 1024:.0f} MiB")
            finally:
                operator.terminate()
                operator.wait(timeout=30)
    finally:
        cluster.down()


if __name__ == "__main__":
    main()
