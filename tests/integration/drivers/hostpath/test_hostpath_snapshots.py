"""The hostpath driver with the upstream snapshot-controller: seed 002 replayed, deletion and
reclaim policies, and restarts in the middle of a copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster, shared_snapshot_root
from salvage.k8s.client import KubeClient
from salvage.model.errors import ClusterError
from tests.support.builders import (
    headless_service,
    pvc,
    snapshot_class,
    snapshot_source,
    statefulset,
    storage_class,
    volume_snapshot,
)
from tests.support.volumes import SNAPSHOTS, claim_path, snapshot_dir, snapshot_path, volume_dir, wait_ready
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

DRIVER = "hostpath-driver"


def _consumer(kube: KubeClient, ns: str, name: str, snapshot: str) -> list[Path]:
    """A StatefulSet of 3 whose claims start from ``snapshot``; the volume of each replica."""
    sts = statefulset(name, replicas=3, service="consumer", data_source=snapshot_source(snapshot))
    sts["spec"]["podManagementPolicy"] = "Parallel"
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", sts)
    claims = [f"data-{name}-{ordinal}" for ordinal in range(3)]
    for claim in claims:
        wait_for(lambda: kube.exists(claim_path(ns, claim)), timeout=60, what=f"PVC {claim}")  # noqa: B023
    return [volume_dir(kube, ns, claim) for claim in claims]


def test_seed_002_each_replica_starts_from_the_snapshot_and_a_new_set_from_a_new_one(
        kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    producer = volume_dir(kube, ns, "data")
    (producer / "file.txt").write_text("Hello World!\n")
    kube.create(snapshot_path(ns), volume_snapshot("data-2021-07-15", "data"))
    wait_ready(kube, ns, "data-2021-07-15")
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("consumer", "consumer"))

    first = _consumer(kube, ns, "consumer-2021-07-15", "data-2021-07-15")
    assert [(v / "file.txt").read_text() for v in first] == ["Hello World!\n"] * 3
    assert len(set(first)) == 3  # three copies, not one shared directory

    # The downloaded files change: a new snapshot and a new StatefulSet behind the same Service
    # (a StatefulSet's claim templates cannot be updated).
    (producer / "file.txt").write_text("Hello again!\n")
    kube.create(snapshot_path(ns), volume_snapshot("data-2021-07-16", "data"))
    wait_ready(kube, ns, "data-2021-07-16")
    second = _consumer(kube, ns, "consumer-2021-07-16", "data-2021-07-16")
    assert [(v / "file.txt").read_text() for v in second] == ["Hello again!\n"] * 3
    assert [(v / "file.txt").read_text() for v in first] == ["Hello World!\n"] * 3
    for name in ("consumer-2021-07-15", "consumer-2021-07-16"):
        assert kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}")["spec"]["serviceName"] == "consumer"


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_snapshot_class_deletion_policy(cluster: LocalCluster, kube: KubeClient, ns: str, policy: str) -> None:
    klass = f"{policy.lower()}-{ns}"
    kube.create(f"{SNAPSHOTS}/volumesnapshotclasses", snapshot_class(klass, deletion_policy=policy))
    try:
        kube.create(claim_path(ns), pvc("data"))
        (volume_dir(kube, ns, "data") / "file.txt").write_text("kept?\n")
        kube.create(snapshot_path(ns), volume_snapshot("s", "data", snapshot_class=klass))
        copy = snapshot_dir(kube, ns, "s")
        content = kube.get(snapshot_path(ns, "s"))["status"]["boundVolumeSnapshotContentName"]
        assert (copy / "file.txt").read_text() == "kept?\n"

        kube.delete(snapshot_path(ns, "s"))
        wait_for(lambda: not kube.exists(snapshot_path(ns, "s")), timeout=60, what="VolumeSnapshot gone")
        if policy == "Retain":
            assert kube.exists(f"{SNAPSHOTS}/volumesnapshotcontents/{content}")
            assert (copy / "file.txt").read_text() == "kept?\n"
            kube.delete(f"{SNAPSHOTS}/volumesnapshotcontents/{content}")
        else:
            wait_for(lambda: not copy.exists(), timeout=60, what="the snapshot's copy removed")
            wait_for(lambda: not kube.exists(f"{SNAPSHOTS}/volumesnapshotcontents/{content}"), timeout=60,
                     what="VolumeSnapshotContent gone")
    finally:
        kube.delete(f"{SNAPSHOTS}/volumesnapshotclasses/{klass}")


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_storage_class_reclaim_policy(kube: KubeClient, ns: str, policy: str) -> None:
    klass = f"{policy.lower()}-{ns}"
    kube.create("/apis/storage.k8s.io/v1/storageclasses", storage_class(klass, reclaim_policy=policy))
    try:
        kube.create(claim_path(ns), pvc("data", storage_class=klass))
        volume = volume_dir(kube, ns, "data")
        (volume / "file.txt").write_text("precious\n")
        pv = kube.get(claim_path(ns, "data"))["spec"]["volumeName"]

        kube.delete(claim_path(ns, "data"))
        if policy == "Retain":
            wait_for(lambda: kube.get(f"/api/v1/persistentvolumes/{pv}")["status"]["phase"] == "Released",
                     timeout=60, what=f"PV {pv} Released")
            assert (volume / "file.txt").read_text() == "precious\n"
            kube.delete(f"/api/v1/persistentvolumes/{pv}")
            wait_for(lambda: not kube.exists(f"/api/v1/persistentvolumes/{pv}"), timeout=60, what="PV gone")
            assert (volume / "file.txt").read_text() == "precious\n"  # deleting a Retain PV keeps the data
            shutil.rmtree(volume)
        else:
            wait_for(lambda: not volume.exists(), timeout=60, what="volume directory removed")
            wait_for(lambda: not kube.exists(f"/api/v1/persistentvolumes/{pv}"), timeout=60, what="PV gone")
    finally:
        kube.delete(f"/apis/storage.k8s.io/v1/storageclasses/{klass}")


@pytest.fixture
def pause_driver(cluster: LocalCluster) -> Iterator[Callable[[], None]]:
    """Restarts the hostpath driver with a long pause between copying and publishing each
    copy (so a test can kill it inside that window); normal again after the test."""
    paused = []

    def pause() -> None:
        cluster.restart_component(DRIVER, env={"SALVAGE_HOSTPATH_TEST_PAUSE": "60"})
        paused.append(True)

    yield pause
    if paused:
        cluster.restart_component(DRIVER)


def _crash_inside_the_window(cluster: LocalCluster, staging: Path, pattern: str) -> Path:
    """Wait until a copy matching ``pattern`` is staged, kill the driver, return the staged path."""
    staged: list[Path] = wait_for(lambda: sorted(staging.glob(pattern)), timeout=60, what=f"a staged copy {pattern}")
    cluster.kill_component(DRIVER)
    return staged[0]


def test_a_driver_killed_while_provisioning_a_clone_finishes_it_after_restart(
        cluster: LocalCluster, pause_driver: Callable[[], None], kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("source"))
    (volume_dir(kube, ns, "source") / "file.txt").write_text("cloned\n")
    pause_driver()
    claim = kube.create(claim_path(ns), pvc("clone", data_source={"kind": "PersistentVolumeClaim", "name": "source"}))
    volume_id = f"pvc-{claim['metadata']['uid']}"

    staged = _crash_inside_the_window(cluster, cluster.volume_root / "volumes" / ".staging", volume_id)
    assert (staged / "file.txt").exists()
    assert not (cluster.volume_root / "volumes" / volume_id).exists()
    assert kube.get(claim_path(ns, "clone"))["status"]["phase"] == "Pending"

    cluster.restart_component(DRIVER)
    assert (volume_dir(kube, ns, "clone") / "file.txt").read_text() == "cloned\n"
    assert not staged.exists()


def test_a_driver_killed_while_snapshotting_finishes_the_snapshot_after_restart(
        cluster: LocalCluster, pause_driver: Callable[[], None], kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    (volume_dir(kube, ns, "data") / "file.txt").write_text("at snapshot time\n")
    pause_driver()
    kube.create(snapshot_path(ns), volume_snapshot("s", "data"))

    staged = _crash_inside_the_window(cluster, shared_snapshot_root() / ".staging", "snapshot-*")
    assert (staged / "file.txt").exists()
    assert not (shared_snapshot_root() / staged.name).exists()
    assert not (kube.get(snapshot_path(ns, "s")).get("status") or {}).get("readyToUse")

    cluster.restart_component(DRIVER)
    copy = snapshot_dir(kube, ns, "s")
    assert copy.name == staged.name
    assert (copy / "file.txt").read_text() == "at snapshot time\n"
    assert not staged.exists()


def test_killing_a_component_is_seen_by_status(cluster: LocalCluster) -> None:
    cluster.kill_component(DRIVER)
    try:
        driver = next(c for c in cluster.status().components if c.name == DRIVER)
        assert not driver.running
    finally:
        cluster.restart_component(DRIVER)
    assert next(c for c in cluster.status().components if c.name == DRIVER).healthy


def test_restarting_an_unknown_component_is_a_clear_error(cluster: LocalCluster) -> None:
    with pytest.raises(ClusterError, match="Component nope of cluster .* has no recorded command line"):
        cluster.restart_component("nope")

