"""Running the operator in a thread against a test cluster, and the objects it reconciles."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import salvage
from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.apply import CRDS, apply, wait_established
from salvage.k8s.client import KubeClient
from salvage.operator.controller import Controller
from salvage.operator.crds import API_VERSION, collection, crds
from salvage.operator.run import controller
from tests.support.waiting import wait_for


def install_crds(kube: KubeClient) -> None:
    for crd in crds():
        apply(kube, CRDS, crd)
    wait_established(kube, [c["metadata"]["name"] for c in crds()])


def custom(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def filesystem_location(name: str, directory: str, **spec: Any) -> dict[str, Any]:
    return custom("BackupLocation", name, {"provider": "filesystem", "bucket": directory, "default": True,
                                           "checkPeriodSeconds": 5, **spec})


def create(kube: KubeClient, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    plural = {"BackupLocation": "backuplocations", "Backup": "backups", "Restore": "restores",
              "Schedule": "schedules", "Drill": "drills"}[obj["kind"]]
    return kube.create(collection(plural, namespace), obj)


def status(kube: KubeClient, namespace: str, plural: str, name: str) -> dict[str, Any]:
    return (kube.find(f"{collection(plural, namespace)}/{name}") or {}).get("status") or {}


@contextlib.contextmanager
def operator_thread(cluster: LocalCluster, namespace: str, identity: str, *,
                    drain_seconds: float = 1.0, progress_seconds: float = 5.0) -> Iterator[Controller]:
    """The operator of ``namespace`` in a thread (Lease of 3 s), stopped (work in flight
    drained for ``drain_seconds``, its Lease released) on exit; an error of its loop fails
    the test there."""
    stop = threading.Event()
    errors: list[BaseException] = []
    with cluster.client() as client:
        ctl = controller(client, namespace, identity=identity, workers=2, lease_seconds=3, renew_seconds=0.5,
                         drain_seconds=drain_seconds, progress_seconds=progress_seconds)

        def run() -> None:
            try:
                ctl.run(stop)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors.append(exc)

        thread = threading.Thread(target=run, name=f"operator-{identity}", daemon=True)
        thread.start()
        try:
            yield ctl
        finally:
            stop.set()
            thread.join(timeout=30)
    if errors:
        raise errors[0]


@contextlib.contextmanager
def operator_process(cluster: LocalCluster, namespace: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`salvage operator run` as its own process (Lease of 3 s, no metrics port), killed on exit."""
    src = Path(salvage.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "salvage", "--kubeconfig", str(cluster.kubeconfig), "operator", "run",
             "-n", namespace, "--lease-seconds", "3", "--metrics-port", "0", "--workers", "2"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def stuck_claim(kube: KubeClient, namespace: str, name: str) -> None:
    """A bound claim on a CSI driver nothing serves, with a snapshot class for it: a backup
    that snapshots it waits (snapshotTimeoutSeconds) for a snapshot that never gets ready."""
    driver = "stuck.csi.salvage.test"
    kube.create_if_absent("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "stuck"}, "driver": driver, "deletionPolicy": "Delete"})
    pv = f"{namespace}-{name}"
    kube.create("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "persistentVolumeReclaimPolicy": "Retain", "csi": {"driver": driver, "volumeHandle": pv},
                 "claimRef": {"namespace": namespace, "name": name}}})
    kube.create(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": pv,
                 "resources": {"requests": {"storage": "1Gi"}}}})
    wait_for(lambda: (kube.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}").get("status") or {})
             .get("phase") == "Bound", timeout=60, what=f"claim {namespace}/{name} bound")
