"""Backup and restore of many small objects on the local cluster, beside a plain list.

For each size N: a namespace of N ConfigMaps of 1 KiB; then, in one run,
  - a plain paginated list of them (limit=500, the API's own page size) by Salvage's
    client and by kubectl (`kubectl get cm --chunk-size=500 -o json`): the floor;
  - `salvage backup create` of the namespace (no volumes);
  - the namespace deleted, then `salvage restore create` of the backup.
Prints objects/second for each and the peak RSS of each salvage process (GNU time, from
Debian's `time` package, measures it). Every size is measured ``--rounds`` times in full (the
create ceiling, 16 plain parallel creates, is measured in each round, as the namespace is
filled); each row gives the ratios of its own round, and the summary their median and spread,
with the load average before and after each round.

    python benchmarks/k8s_objects_bench.py --sizes 1000,10000,50000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from salvage.devcluster.local_cluster import LocalCluster
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


def measure_round(client: KubeClient, cluster: LocalCluster, work: Path, env: dict[str, str], size: int,
                  number: int) -> dict[str, float]:
    """One round at one size: the create ceiling, the plain list and the backups (their order
    alternating by round), then the namespace deleted and restored by the CLI."""
    ns = f"bench-{size}-{os.getpid()}-{number}"
    salvage = [sys.executable, "-m", "salvage"]
    load_before = os.getloadavg()[0]
    create_s = populate(client, ns, size)

    def plain_list() -> float:
        started = time.monotonic()
        listed = sum(1 for _ in client.list(f"/api/v1/namespaces/{ns}/configmaps", limit=500))
        assert listed >= size
        return time.monotonic() - started

    def engine_backup() -> float:
        # The backup by the engine inside this process: like for like with the list (no
        # interpreter start-up or imports).
        started = time.monotonic()
        create_backup(client, open_location(LocationSpec("bench", "filesystem", str(work / "engine"))),
                      BackupRequest(f"e{size}-{number}", Selection((ns,)), snapshot_volumes=False))
        return time.monotonic() - started

    plain_list()  # not measured: the first read after the creates is slower whoever makes it
    if number % 2:
        engine_s, list_s = engine_backup(), plain_list()
    else:
        list_s, engine_s = plain_list(), engine_backup()
    kubectl_s, _ = run_measured([str(cluster.binary_dir() / "kubectl"), "get", "cm", "-n", ns, "--chunk-size=500",
                                 "-o", "json"], env)
    backup_s, backup_rss = run_measured(
        [*salvage, "backup", "create", f"b{size}-{number}", "--include-namespaces", ns, "--no-snapshot-volumes"], env)
    client.delete(f"/api/v1/namespaces/{ns}")
    wait_gone(client, ns)
    restore_s, restore_rss = run_measured(
        [*salvage, "restore", "create", f"r{size}-{number}", "--from-backup", f"b{size}-{number}", "--no-wait"], env)
    restored = sum(1 for _ in client.list(f"/api/v1/namespaces/{ns}/configmaps", limit=500))
    assert restored >= size, f"restored {restored} of {size}"
    client.delete(f"/api/v1/namespaces/{ns}")
    wait_gone(client, ns)
    return {"size": size, "round": number + 1, "create_s": create_s, "list_s": list_s, "kubectl_s": kubectl_s,
            "backup_s": backup_s, "engine_s": engine_s, "restore_s": restore_s, "backup_rss_kib": backup_rss,
            "restore_rss_kib": restore_rss, "load_before": load_before, "load_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated object counts")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size; each is measured in full")
    parser.add_argument("--cluster", default="bench")
    args = parser.parse_args()
    cluster = LocalCluster(args.cluster)
    cluster.up(nodes=1)
    work = Path(tempfile.mkdtemp(prefix="salvage-bench-"))
    env = {**os.environ, "SALVAGE_CONFIG_DIR": str(work / "config"), "SALVAGE_DATA_DIR": str(work / "data"),
           "KUBECONFIG": str(cluster.kubeconfig), "NO_COLOR": "1"}
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} ({os.cpu_count()} cores), "
          f"Python {platform.python_version()}, Kubernetes local dev cluster {args.cluster}; "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'objects':>8} {'round':>5} {'create/s':>9} {'list/s':>8} {'kubectl/s':>9} {'backup/s':>9} "
          f"{'engine/s':>9} {'restore/s':>9} {'cli/list':>8} {'engine/list':>11} {'restore/create':>14} "
          f"{'backup RSS':>10} {'restore RSS':>11} {'load':>10}")
    rows = []
    with cluster.client() as client:
        for size in (int(s) for s in args.sizes.split(",")):
            for number in range(args.rounds):
                r = measure_round(client, cluster, work, env, size, number)
                rows.append(r)
                print(f"{size:>8} {number + 1:>5} {size / r['create_s']:>9.0f} {size / r['list_s']:>8.0f} "
                      f"{size / r['kubectl_s']:>9.0f} {size / r['backup_s']:>9.0f} {size / r['engine_s']:>9.0f} "
                      f"{size / r['restore_s']:>9.0f} {r['backup_s'] / r['list_s']:>8.2f} "
                      f"{r['engine_s'] / r['list_s']:>11.2f} {r['create_s'] / r['restore_s']:>14.2f} "
                      f"{r['backup_rss_kib'] / 1024:>8.0f}Mi {r['restore_rss_kib'] / 1024:>9.0f}Mi "
                      f"{r['load_before']:>4.1f}→{r['load_after']:<4.1f}", flush=True)
    print("\nper size, median (min–max) over the rounds:")
    for size in sorted({int(r["size"]) for r in rows}):
        mine = [r for r in rows if r["size"] == size]
        print(f"{size:>8}: engine÷list {_spread([r['engine_s'] / r['list_s'] for r in mine])}, "
              f"CLI÷list {_spread([r['backup_s'] / r['list_s'] for r in mine])}, "
              f"restore÷create ceiling {_spread([r['create_s'] / r['restore_s'] for r in mine])}")
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    cluster.down()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


if __name__ == "__main__":
    main()
