"""The demo's story, step by step: deploy, write, back up, lose everything, recover, validate.

hello-stateful is a real container on the local cluster's real node, as in seed 000: a shell
loop that appends the date to /usr/share/hello/stateful.log every second. The demo reads the
log the way a user would, through the pod's exec subresource (`kubectl exec ... cat`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salvage.demo.writer import widest_gap
from salvage.devcluster.local_cluster import LocalCluster, shared_snapshot_root
from salvage.devcluster.images import builders as images
from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.engines.statefulset import workload_state as kube
from salvage.engines.statefulset.backup_source import BackupSource
from salvage.engines.statefulset.recover import RecoverRequest, recover_statefulset
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from salvage.k8s.waits import delete_and_wait, wait_until
from salvage.locations import Location
from salvage.model.progress import Progress

APP = "hello-stateful"
TEMPLATE = "log"
CLAIM = f"{TEMPLATE}-{APP}-0"
LOG = "stateful.log"
MOUNT = "/usr/share/hello"
# Seed 000's container, as a shell loop in the busybox image built on this machine.
WRITER = f"mkdir -p {MOUNT} && while true; do date -u >> {MOUNT}/{LOG}; sleep 1; done"

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    cluster: str
    namespace: str
    backup: str
    log: list[str]
    snapshot_last_line: str
    lost_lines: list[str]
    gap_at: int        # index of the first line written after the recovery
    gap_seconds: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "namespace": self.namespace, "backup": self.backup, "log": self.log,
                "snapshotLastLine": self.snapshot_last_line, "lostLines": self.lost_lines,
                "gapAt": self.gap_at, "gapSeconds": self.gap_seconds, "seconds": round(self.seconds, 1)}


@dataclass(frozen=True)
class DemoTimes:
    """How long the app writes in each act (seconds); short, so CI runs it in well under a minute."""

    before_backup: float = 4.0
    after_backup: float = 2.0
    outage: float = 2.0
    after_recovery: float = 3.0


def run_demo(cluster: LocalCluster, namespace: str, location: Location, say: Say, progress: Progress,
             times: DemoTimes = DemoTimes()) -> DemoResult:
    started = time.monotonic()
    say(f"1/7 starting local cluster {cluster.name} (reused if it is running)")
    cluster.up(nodes=1, real_nodes=1, report=lambda m: say(f"    {m}"))
    with cluster.client() as client:
        say(f"2/7 deploying StatefulSet {APP} in namespace {namespace} (its claim: {CLAIM})")
        _fresh_namespace(client, namespace)
        _deploy(client, namespace)
        volume = _volume_dir(client, namespace)
        say(f"    {APP}-0 is Running on {_node_of(client, namespace)}; its volume is {volume}")
        say(f"3/7 the container writes the time to {MOUNT}/{LOG} every second")
        time.sleep(times.before_backup)
        backup = f"{APP}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
        say(f"4/7 backing up namespace {namespace} with a volume snapshot: backup {backup}")
        outcome = create_backup(client, location, BackupRequest(
            name=backup, selection=Selection(include_namespaces=(namespace,))), progress)
        snapshot_last = _snapshot_last_line(outcome.volumes[0].get("snapshotHandle", "")) \
            if outcome.volumes else ""
        say(f"    backup {outcome.phase}; the snapshot's last line: {snapshot_last}")
        time.sleep(times.after_backup)
        before = _read_log(client, namespace)
        lost = before[before.index(snapshot_last) + 1:] if snapshot_last in before else []
        say(f"    the container has written {len(before)} line(s), the last: {before[-1] if before else '-'}")
        say(f"5/7 disaster: deleting StatefulSet {APP} and its Service, then the volume itself ({volume})")
        _disaster(client, namespace, volume)
        pv = client.find(kube.claim_path(namespace, CLAIM))
        say(f"    PVC {CLAIM} and PV {(pv or {}).get('spec', {}).get('volumeName')} are left pointing at nothing")
        time.sleep(times.outage)
        say(f"6/7 salvage statefulset recover {APP} -n {namespace} --from-backup {backup}")
        source = BackupSource(client, location, backup, namespace, APP, progress=progress)
        report = recover_statefulset(client, source, RecoverRequest(APP, namespace, timeout=120), progress)
        for step in report.plan.steps:
            say(f"    claim {step.claim}: {step.action.value} ({step.reason})")
        volume = _volume_dir(client, namespace)
        say(f"    {APP}-0 is Running again in {report.seconds:.1f}s on volume {volume}")
        time.sleep(times.after_recovery)
        say("7/7 the log, read in the new container: lines up to the snapshot, a gap, then new lines")
        log = _read_log(client, namespace)
    gap_at, gap = widest_gap(log)
    return DemoResult(cluster.name, namespace, backup, log, snapshot_last, lost, gap_at, gap,
                      time.monotonic() - started)


def _fresh_namespace(client: KubeClient, namespace: str) -> None:
    """Start from nothing: a namespace left by an earlier demo run is removed first."""
    path = core("namespaces", None, namespace)
    if client.find(path) is not None:
        delete_and_wait(client, path, time.monotonic() + 120, f"namespace {namespace}")
    client.create(core("namespaces"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def _deploy(client: KubeClient, namespace: str) -> None:
    labels = {"app": APP}
    client.create(core("services", namespace), {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "labels": labels},
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "http", "port": 80}]}})
    client.create(kube.statefulset_path(namespace), {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": APP, "labels": labels},
        "spec": {
            "serviceName": APP, "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": APP, "image": images.BUSYBOX.ref, "command": ["sh", "-c", WRITER],
                    "volumeMounts": [{"name": TEMPLATE, "mountPath": MOUNT}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": TEMPLATE}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        }})
    wait_until(lambda: kube.pods_running(client, namespace, APP, 1), time.monotonic() + 120,
                    f"{APP}-0 to be Running")


def _read_log(client: KubeClient, namespace: str) -> list[str]:
    """The log as the container sees it (`kubectl exec hello-stateful-0 -- cat ...`)."""
    result = exec_in_pod(client, namespace, f"{APP}-0", ["cat", f"{MOUNT}/{LOG}"], timeout=30)
    if not result.ok:
        return []
    return result.stdout.splitlines()


def _node_of(client: KubeClient, namespace: str) -> str:
    return str(client.get(kube.pod_path(namespace, f"{APP}-0")).get("spec", {}).get("nodeName", "?"))


def _volume_dir(client: KubeClient, namespace: str) -> Path:
    claim = client.get(kube.claim_path(namespace, CLAIM))
    pv = client.get(core("persistentvolumes", None, claim["spec"]["volumeName"]))
    return Path(pv["spec"]["csi"]["volumeAttributes"]["path"])


def _disaster(client: KubeClient, namespace: str, volume: Path) -> None:
    deadline = time.monotonic() + 60
    delete_and_wait(client, kube.statefulset_path(namespace, APP), deadline, f"StatefulSet {APP}")
    wait_until(lambda: kube.pods_gone(client, namespace, APP, 1), deadline, f"pod {APP}-0 to be deleted")
    delete_and_wait(client, core("services", namespace, APP), deadline, f"Service {APP}")
    shutil.rmtree(volume)


def _snapshot_last_line(handle: str) -> str:
    """The last line in the snapshot itself (the hostpath driver keeps it as a directory)."""
    lines = _lines(shared_snapshot_root() / handle / LOG) if handle else []
    return lines[-1] if lines else ""


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []
