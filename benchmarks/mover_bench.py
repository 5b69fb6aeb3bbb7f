"""The data mover's cost, side by side in one run: one dataset on a claim of the real node,
backed up and restored into the same MinIO by

- ``salvage fs backup|restore`` on the host (reading the claim's directory directly),
- a data-mover pod on the real node (the engine's own path: the claim is in use by a pod,
  the mover runs beside it and reads it at its mount),
- kopia on the host, reading the same directory,

    python benchmarks/mover_bench.py [--size 2GiB] [--write-doc]

Phases: initial backup, incremental backup after a 1% change, full restore (the pod's into
a new claim). MinIO listens on the node's bridge address, so the host, kopia and the pods
reach the very same endpoint (no relay). Pod times are end to end as the engine sees them:
Secret and pod created, scheduled, the container started (Python and Salvage loaded), the
copy, the pod and Secret removed. Peak RSS is the process's own (host and kopia: wait4;
pod: the mover's getrusage, in its result). The load average is sampled around every
measurement: the machine is shared. kopia must be built first (``benchmarks/repo_bench.py
--build``). Takes the machine's real node in turn (tests/support/real_node_turn.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.support: the real node's turn
from dataset import change_one_percent, generate, tree_size  # noqa: E402
from repo_bench import KOPIA, PASSWORD, Kopia, parse_size, run  # noqa: E402

from salvage.devcluster.local_cluster import LocalCluster  # noqa: E402
from salvage.model.progress import VolumeMoved  # noqa: E402
from salvage.devcluster.host import NODE_IP  # noqa: E402
from salvage.devcluster.images import builders as images  # noqa: E402
from salvage.devcluster.servers.minio import S3Server, start_minio  # noqa: E402
from salvage.k8s.client import KubeClient  # noqa: E402
from salvage.locations import open_location  # noqa: E402
from salvage.locations.config import LocationSpec  # noqa: E402
from salvage.volumes import fs  # noqa: E402
from salvage.volumes.method import MethodContext  # noqa: E402
from tests.support.real_node_turn import real_node_turn  # noqa: E402
from tests.support.volumes import volume_dir  # noqa: E402
from tests.support.waiting import pod_ready, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NS = "bench"
TOOLS = ("host", "pod", "kopia")


@dataclass
class Row:
    phase: str
    tool: str  # host (salvage fs on the host) | pod (a mover pod) | kopia (on the host)
    seconds: float
    bytes: int
    peak_rss_mib: float
    load: float  # 1-minute load average, the higher of before and after

    @property
    def mib_per_s(self) -> float:
        return self.bytes / self.seconds / 2**20 if self.seconds else 0.0


def claim(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}


def driver_registered(kube: KubeClient) -> bool:
    """kubelet mounts no claim until the driver's node plugin registered (CSINode lists it)."""
    for node in kube.list("/apis/storage.k8s.io/v1/csinodes"):
        if any(d.get("name") == "hostpath.salvage.io" for d in node.get("spec", {}).get("drivers") or []):
            return True
    return False


def prepare(kube: KubeClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Namespace, the claim ``data`` used by a running pod (so the mover goes to its node)."""
    wait_for(lambda: driver_registered(kube), timeout=120, what="the hostpath CSI driver registered on the node")
    kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube.create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", claim("data"))
    kube.create(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": images.BUSYBOX.ref, "command": ["sleep", "3600"],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}})
    pod_ready(kube, NS, "app")
    bound = kube.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data")
    return bound, kube.get(f"/api/v1/persistentvolumes/{bound['spec']['volumeName']}")


def make_buckets(server: S3Server) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                      aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key)
    for bucket in TOOLS:
        s3.create_bucket(Bucket=bucket)


def location(server: S3Server, bucket: str) -> LocationSpec:
    return LocationSpec(name=bucket, provider="s3", bucket=bucket, endpoint=server.endpoint, region=server.region,
                        credentials=dict(server.credentials))


class S3Kopia(Kopia):
    """repo_bench's kopia, with its repository in a MinIO bucket."""

    def __init__(self, work: Path, server: S3Server) -> None:
        super().__init__(work)
        self.server = server
        self.start_round(0)

    def init(self) -> None:
        env, endpoint = self.env(), self.server.endpoint.removeprefix("http://")
        run([str(self.binary), "repository", "create", "s3", "--bucket", "kopia", "--endpoint", endpoint,
             "--disable-tls", "--region", self.server.region, "--access-key", self.server.access_key_id,
             "--secret-access-key", self.server.secret_access_key], env, self.log)
        run([str(self.binary), "policy", "set", "--global", "--compression", "zstd"], env, self.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="2GiB")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/salvage-mover-bench"))
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    if not Kopia.binary.exists():
        raise SystemExit(f"kopia is not built ({Kopia.binary}); run `python benchmarks/repo_bench.py --build "
                         "--tools kopia --size 1MiB` once")
    size = parse_size(args.size)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    env = {**os.environ, "SALVAGE_REPO_PASSWORD": PASSWORD, "NO_COLOR": "1", "SALVAGE_CONFIG_DIR": str(args.work),
           "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    started = datetime.now(timezone.utc)
    with real_node_turn():
        cluster = LocalCluster(f"mb-{os.getpid()}")  # short: the CSI registration socket path must fit 107 bytes
        cluster.up(nodes=1, real_nodes=1)
        server = None
        try:
            (args.work / "minio").mkdir()
            server = start_minio(args.work / "minio", address=NODE_IP)  # the bridge exists once the node runs
            make_buckets(server)
            with cluster.client() as kube:
                rows, files = measure(kube, args.work, size, env, server)
        finally:
            if server is not None:
                server.stop()
            cluster.down()
    report = {"recorded": started.isoformat(timespec="seconds"), "size": size, "files": files,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
              "kopia": KOPIA[1], "rows": [asdict(r) for r in rows]}
    table = markdown(rows)
    print(table)
    print(json.dumps(report, indent=1))
    if args.write_doc:
        write_doc(args, report, table)


def measure(kube: KubeClient, work: Path, size: int, env: dict[str, str],
            server: S3Server) -> tuple[list[Row], int]:
    data_claim, data_pv = prepare(kube)
    data = volume_dir(kube, NS, "data") / "dataset"  # generate() makes the directory
    generate(data, size)
    files, total = tree_size(data)
    # The pod's side: the engine's fs method, as `backup create` runs it.
    results: list[VolumeMoved] = []
    pod_spec = location(server, "pod")
    context = MethodContext(kube, open_location(pod_spec).store, PASSWORD, create_repository=True, location=pod_spec,
                            progress=lambda event: results.append(event) if isinstance(event, VolumeMoved) else None)
    mover = fs.FsMethod(context)
    # The host's side: `salvage fs` with the location `host` (its repository made first, as the CLI's
    # backup create makes it before any pod).
    (work / "locations.yaml").write_text(json.dumps({"locations": {"host": {
        k: v for k, v in location(server, "host").to_json(secrets=True).items() if k != "name"}}}))
    fs.repository(open_location(location(server, "host")).store, PASSWORD, create=True)
    salvage = [sys.executable, "-m", "salvage"]
    kopia = S3Kopia(work, server)
    kopia.init()
    rows: list[Row] = []
    records: list[Any] = []

    def timed(phase: str, tool: str, moved: int, action: Callable[[], tuple[float, float]]) -> None:
        load = os.getloadavg()[0]
        seconds, rss = action()
        rows.append(Row(phase, tool, seconds, moved, rss, max(load, os.getloadavg()[0])))
        print(f"{phase} {tool}: {seconds:.1f}s (load {rows[-1].load:.1f})", file=sys.stderr)

    def host(*cmd: str) -> tuple[float, float]:
        seconds, rss, _ = run([*salvage, *cmd], env, work / "host.log")  # wait4's own clock and RSS
        return seconds, rss

    def pod(action: Callable[[], Any]) -> tuple[float, float]:
        os.sync()  # as run() does before the host's and kopia's commands
        started = time.monotonic()
        records.append(action())
        return time.monotonic() - started, results[-1].max_rss_bytes / 2**20

    def kopia_run(cmd: list[str]) -> tuple[float, float]:
        seconds, rss, _ = run(cmd, kopia.env(), kopia.log)
        return seconds, rss

    backup_host = ("fs", "backup", str(data), "--location", "host", "--host", "bench")
    for number, phase in enumerate(("initial backup", "incremental (1%)")):
        if number:
            change_one_percent(data, size)
            files, total = tree_size(data)
        timed(phase, "host", total, lambda: host(*backup_host))
        timed(phase, "pod", total, lambda: pod(lambda: mover.capture(data_claim, data_pv, f"b{number}",
                                                                     timeout=3600)))
        timed(phase, "kopia", total, lambda: kopia_run(kopia.backup(data)))

    timed("full restore", "host", total, lambda: host("fs", "restore", "latest", "--target",
                                                      str(work / "host-restore"), "--location", "host"))
    kube.create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", claim("restored"))
    restored = volume_dir(kube, NS, "restored")  # bound
    timed("full restore", "pod", total, lambda: pod(lambda: mover._fill_by_mover(records[-1], NS, "restored")))
    timed("full restore", "kopia", total, lambda: kopia_run(kopia.restore(work / "kopia-restore")))
    for target in (work / "host-restore", restored / "dataset", work / "kopia-restore"):
        if tree_size(target) != (files, total):
            raise SystemExit(f"{target} holds {tree_size(target)} (files, bytes), not {(files, total)}")
    return rows, files


def markdown(rows: list[Row]) -> str:
    lines = ["| phase | tool | wall s | MiB/s | peak RSS MiB | load (1 min) | vs host | pod vs kopia |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    by = {(r.phase, r.tool): r.seconds for r in rows}
    for r in rows:
        host = by.get((r.phase, "host"))
        versus_host = f"{r.seconds / host:.2f}x" if host and r.tool != "host" else ""
        versus_kopia = f"{r.seconds / by[(r.phase, 'kopia')]:.2f}x" if r.tool == "pod" else ""
        lines.append(f"| {r.phase} | {r.tool} | {r.seconds:.1f} | {r.mib_per_s:.0f} | {r.peak_rss_mib:.0f} | "
                     f"{r.load:.1f} | {versus_host} | {versus_kopia} |")
    return "\n".join(lines)


def write_doc(args: argparse.Namespace, report: dict[str, Any], table: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    section = (f"\n## Data mover: a pod on the real node vs `salvage fs` on the host vs kopia, into MinIO\n\n"
               f"Recorded {report['recorded']} with `python benchmarks/mover_bench.py --size {args.size} "
               f"--write-doc` ({report['files']} files, {report['size'] / 2**20:.0f} MiB, the dataset of "
               f"repo_bench.py; kopia {report['kopia']}; {report['machine']}). The machine is shared with "
               "other developers' builds and test runs: the load column is its 1-minute load average around each "
               "measurement (2 cores). Every tool writes its own bucket of one MinIO on this machine, at the "
               "node's address. Pod times are end to end: Secret and pod made, scheduled, started (Python "
               "loads Salvage), the copy, both removed.\n\n" + table + "\n")
    doc.write_text(doc.read_text() + section)


if __name__ == "__main__":
    main()
