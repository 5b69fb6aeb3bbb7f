"""Backup and restore of many small objects on the local cluster, beside a plain list.

For each size N: a namespace of N ConfigMaps of 1 KiB; then, in one run,
  - a plain paginated list of them (limit=500, the API's own page size) by Salvage's
    client and by kubectl (`kubectl get cm --chunk-size=500 -o json`): the floor;
  - `salvage backup create` of the namespace (no volumes);
  - the namespace deleted, then `salvage restore create` of the backup.
Prints objects/second for each and the peak RSS of each salvage process (GNU time, from
Debian's `time` package, measures it).

    python benchmarks/k8s_objects_bench.py --sizes 1000,10000,50000
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from salvage.devcluster.cluster import LocalCluster
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.k8s.client import KubeClient
from salvage.locations import LocationSpec, open_location

PAYLOAD = "x" * 1024


def populate(client: KubeClient, ns: str, count: int) -> float:
    client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def make(i: int) -> None:
        client.create(f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:06d}"}, "data": {"payload": PAYLOAD}})

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(count)))
    return time.monotonic() - started


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command.

    Measured by GNU time, which forks the command from its own small process: a child
    forked straight from this (large) benchmark process would report this process's RSS
    as its own peak, because Linux keeps the high-water mark across fork and exec.
    """
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr}")
    return seconds, int(result.stderr.strip().splitlines()[-1])


def wait_gone(client: KubeClient, ns: str) -> None:
    deadline = time.monotonic() + 600
    while client.exists(f"/api/v1/namespaces/{ns}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"namespace {ns} was not deleted in 10 minutes")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated object counts")
    parser.add_argument("--cluster", default="bench")
    args = parser.parse_args()
    cluster = LocalCluster(args.cluster)
    cluster.up(nodes=1)
    work = Path(tempfile.mkdtemp(prefix="salvage-bench-"))
    env = {**os.environ, "SALVAGE_CONFIG_DIR": str(work / "config"), "SALVAGE_DATA_DIR": str(work / "data"),
           "KUBECONFIG": str(cluster.kubeconfig), "NO_COLOR": "1"}
    kubectl = str(cluster.binary_dir() / "kubectl")
    salvage = [sys.executable, "-m", "salvage"]
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} ({os.cpu_count()} cores), "
          f"Python {platform.python_version()}, Kubernetes local dev cluster {args.cluster}")
    print(f"{'objects':>8} {'create/s':>9} {'list/s':>8} {'kubectl/s':>9} {'backup/s':>9} {'engine/s':>9} "
          f"{'restore/s':>9} {'cli/list':>8} {'engine/list':>11} {'backup RSS':>10} {'restore RSS':>11}")
    with cluster.client() as client:
        for size in (int(s) for s in args.sizes.split(",")):
            ns = f"bench-{size}-{os.getpid()}"
            create_s = populate(client, ns, size)
            started = time.monotonic()
            listed = sum(1 for _ in client.list(f"/api/v1/namespaces/{ns}/configmaps", limit=500))
            list_s = time.monotonic() - started
            assert listed >= size
            kubectl_s, _ = run_measured([kubectl, "get", "cm", "-n", ns, "--chunk-size=500", "-o", "json"], env)
            backup_s, backup_rss = run_measured(
                [*salvage, "backup", "create", f"b{size}", "--include-namespaces", ns, "--no-snapshot-volumes"], env)
            # The same backup by the engine inside this process: like for like with the list
            # above (no interpreter start-up or imports).
            started = time.monotonic()
            create_backup(client, open_location(LocationSpec("bench", "filesystem", str(work / "engine"))),
                          BackupRequest(f"e{size}", Selection((ns,)), snapshot_volumes=False))
            engine_s = time.monotonic() - started
            client.delete(f"/api/v1/namespaces/{ns}")
            wait_gone(client, ns)
            restore_s, restore_rss = run_measured(
                [*salvage, "restore", "create", f"r{size}", "--from-backup", f"b{size}", "--no-wait"], env)
            restored = sum(1 for _ in client.list(f"/api/v1/namespaces/{ns}/configmaps", limit=500))
            assert restored >= size, f"restored {restored} of {size}"
            print(f"{size:>8} {size / create_s:>9.0f} {size / list_s:>8.0f} {size / kubectl_s:>9.0f} "
                  f"{size / backup_s:>9.0f} {size / engine_s:>9.0f} {size / restore_s:>9.0f} "
                  f"{backup_s / list_s:>8.2f} {engine_s / list_s:>11.2f} "
                  f"{backup_rss / 1024:>8.0f}Mi {restore_rss / 1024:>9.0f}Mi", flush=True)
            client.delete(f"/api/v1/namespaces/{ns}")
            wait_gone(client, ns)
    cluster.down()


if __name__ == "__main__":
    main()
