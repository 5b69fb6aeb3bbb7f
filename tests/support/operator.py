"""Running the operator in a thread against a test cluster, and the objects it reconciles."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from salvage.devcluster.cluster import LocalCluster
from salvage.k8s.apply import CRDS, apply, wait_established
from salvage.k8s.client import KubeClient
from salvage.operator.controller import Controller
from salvage.operator.crds import API_VERSION, collection, crds
from salvage.operator.run import controller


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
              "Schedule": "schedules"}[obj["kind"]]
    return kube.create(collection(plural, namespace), obj)


def status(kube: KubeClient, namespace: str, plural: str, name: str) -> dict[str, Any]:
    return (kube.find(f"{collection(plural, namespace)}/{name}") or {}).get("status") or {}


@contextlib.contextmanager
def operator_thread(cluster: LocalCluster, namespace: str, identity: str) -> Iterator[Controller]:
    """The operator of ``namespace`` in a thread (Lease of 3 s), stopped (and its Lease
    released) on exit; an error of its loop fails the test there."""
    stop = threading.Event()
    errors: list[BaseException] = []
    with cluster.client() as client:
        ctl = controller(client, namespace, identity=identity, workers=2, lease_seconds=3, renew_seconds=0.5)

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
