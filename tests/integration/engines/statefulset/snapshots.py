"""Seed 002's producer: a claim with downloaded files, and VolumeSnapshots of it."""

from __future__ import annotations

import shutil

from salvage.devcluster.local_cluster import shared_snapshot_root
from salvage.k8s.client import KubeClient
from tests.support.builders import pvc, volume_snapshot
from tests.support.volumes import volume_dir
from tests.support.waiting import wait_for

SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"


def producer(kube: KubeClient, ns: str, text: str, claim: str = "data") -> None:
    path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}"
    if not kube.exists(path):
        kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", pvc(claim))
        wait_for(lambda: kube.get(path).get("status", {}).get("phase") == "Bound", timeout=60, what=f"{claim} Bound")
    (volume_dir(kube, ns, claim) / "file.txt").write_text(text)


def snapshot(kube: KubeClient, ns: str, name: str, claim: str = "data", labels: dict[str, str] | None = None) -> str:
    body = volume_snapshot(name, claim, "hostpath")
    if labels:
        body["metadata"]["labels"] = labels
    kube.create(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots", body)
    path = f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/{name}"
    wait_for(lambda: (kube.get(path).get("status") or {}).get("readyToUse"), timeout=60, what=f"{name} ready")
    return name


def lose_snapshot_data(kube: KubeClient, ns: str, name: str) -> None:
    """The snapshot object stays ready, but its data is gone: nothing can be provisioned from it."""
    vs = kube.get(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/{name}")
    content = kube.get(f"{SNAPSHOTS}/volumesnapshotcontents/{vs['status']['boundVolumeSnapshotContentName']}")
    shutil.rmtree(shared_snapshot_root() / content["status"]["snapshotHandle"])
