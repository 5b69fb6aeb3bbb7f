"""The data mover's cost: one dataset backed up and restored by ``salvage fs backup|restore``
on the host, and by data-mover pods on the real node (the engine's own path: the claim is in
use by a pod, the mover runs beside it), each into a directory repository on the same disk.

    python benchmarks/mover_bench.py [--size 512MiB] [--write-doc]

Phases: initial backup, incremental backup after a 1% change, full restore (the pod's into a
new claim). Pod times are end to end as the engine sees them: Secret and pod created,
scheduled, the container started (Python and Salvage loaded), the copy, the pod and Secret
removed. Peak RSS is the process's own (host: wait4; pod: the mover's getrusage, reported
in its result). Takes the machine's real node in turn (tests/support/real_node_turn.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import change_one_percent, generate, tree_size  # noqa: E402
from repo_bench import PASSWORD, parse_size, run  # noqa: E402

from salvage.devcluster.cluster import LocalCluster  # noqa: E402
from salvage.devcluster.images import builders as images  # noqa: E402
from salvage.k8s.client import KubeClient  # noqa: E402
from salvage.locations.config import LocationSpec  # noqa: E402
from salvage.storage.local import LocalStore  # noqa: E402
from salvage.volumes import fs  # noqa: E402
from salvage.volumes.method import MethodContext  # noqa: E402
from tests.support.real_node_turn import real_node_turn  # noqa: E402
from tests.support.volumes import volume_dir  # noqa: E402
from tests.support.waiting import pod_ready, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NS = "bench"


@dataclass
class Row:
    phase: str
    where: str  # host | pod
    seconds: float
    bytes: int
    peak_rss_mib: float

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="512MiB")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/salvage-mover-bench"))
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    size = parse_size(args.size)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    env = {**os.environ, "SALVAGE_REPO_PASSWORD": PASSWORD, "NO_COLOR": "1",
           "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    with real_node_turn():
        cluster = LocalCluster(f"mb-{os.getpid()}")  # short: the CSI registration socket path must fit 107 bytes
        cluster.up(nodes=1, real_nodes=1)
        try:
            with cluster.client() as kube:
                rows, files = measure(kube, args.work, size, env)
        finally:
            cluster.down()
    report = {"recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"), "size": size, "files": files,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
              "load": os.getloadavg(), "rows": [asdict(r) for r in rows]}
    table = markdown(rows)
    print(table)
    print(json.dumps(report, indent=1))
    if args.write_doc:
        write_doc(args, report, table)


def measure(kube: KubeClient, work: Path, size: int, env: dict[str, str]) -> tuple[list[Row], int]:
    data_claim, data_pv = prepare(kube)
    data = volume_dir(kube, NS, "data") / "dataset"  # generate() makes the directory
    generate(data, size)
    files, total = tree_size(data)
    location = LocationSpec(name="bench", provider="filesystem", bucket=str(work / "pod-location"))
    results: list[dict[str, Any]] = []
    context = MethodContext(kube, LocalStore(location.bucket), PASSWORD, create_repository=True, location=location,
                            progress=lambda kind, d: results.append(d) if d.get("event") == "result" else None)
    mover = fs.FsMethod(context)
    host_repo = str(work / "host-repo")
    salvage = [sys.executable, "-m", "salvage"]
    run([*salvage, "repo", "init", "--repo", host_repo], env, work / "host.log")
    rows: list[Row] = []

    def on_host(phase: str, *cmd: str, moved: int) -> None:
        seconds, rss, _ = run([*salvage, *cmd], env, work / "host.log")
        rows.append(Row(phase, "host", seconds, moved, rss))

    def by_pod(phase: str, action: Any, moved: int) -> Any:
        started = time.monotonic()
        out = action()
        rows.append(Row(phase, "pod", time.monotonic() - started, moved, results[-1]["max_rss_bytes"] / 2**20))
        return out

    backup_host = ("fs", "backup", str(data), "--repo", host_repo, "--host", "bench")
    on_host("initial backup", *backup_host, moved=total)
    by_pod("initial backup", lambda: mover.capture(data_claim, data_pv, "b1", timeout=3600), total)
    change_one_percent(data, size)
    on_host("incremental (1%)", *backup_host, moved=total)
    record = by_pod("incremental (1%)", lambda: mover.capture(data_claim, data_pv, "b2", timeout=3600), total)
    on_host("full restore", "fs", "restore", "latest", "--target", str(work / "host-restore"), "--repo", host_repo,
            moved=total)
    kube.create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", claim("restored"))
    volume_dir(kube, NS, "restored")  # bound
    by_pod("full restore", lambda: mover._fill_by_mover(record, NS, "restored"), total)
    return rows, files


def markdown(rows: list[Row]) -> str:
    lines = ["| phase | where | wall s | MiB/s | peak RSS MiB | pod vs host |", "|---|---|---:|---:|---:|---:|"]
    host = {r.phase: r.seconds for r in rows if r.where == "host"}
    for r in rows:
        ratio = f"{r.seconds / host[r.phase]:.2f}x" if host.get(r.phase) else ""
        lines.append(f"| {r.phase} | {r.where} | {r.seconds:.1f} | {r.mib_per_s:.0f} | {r.peak_rss_mib:.0f} | {ratio} |")
    return "\n".join(lines)


def write_doc(args: argparse.Namespace, report: dict[str, Any], table: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    section = (f"\n## Data mover: a pod on the real node vs `salvage fs` on the host\n\n"
               f"Recorded {report['recorded']} with `python benchmarks/mover_bench.py --size {args.size} "
               f"--write-doc` ({report['files']} files, {report['size'] / 2**20:.0f} MiB; the dataset of "
               f"repo_bench.py; {report['machine']}; load average {report['load']}). Pod times are end to end: "
               "Secret and pod made, scheduled, started (Python loads Salvage), the copy, both removed; "
               "each side writes its own directory repository on the same disk.\n\n" + table + "\n")
    doc.write_text(doc.read_text() + section)


if __name__ == "__main__":
    main()
