"""`salvage snapshot` end to end on the real local cluster: seed 003 replayed, output, bad input."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.support.builders import pvc, snapshot_class
from tests.support.cli import salvage
from tests.support.volumes import claim_path, snapshot_path, volume_dir, wait_bound

pytestmark = pytest.mark.integration


def _append_dated_lines(path: Path, count: int) -> list[str]:
    """Seed 003's busybox writer without a pod: `date >> pod-out.txt`, here with a counter."""
    lines: list[str] = []
    with path.open("a") as out:
        for _ in range(count):
            line = f"{dt.datetime.now(dt.timezone.utc):%a %b %d %H:%M:%S.%f UTC %Y} #{len(lines)}"
            out.write(line + "\n")
            lines.append(line)
    return lines


def _snapshots(kube: KubeClient, ns: str) -> list[str]:
    return [s["metadata"]["name"] for s in kube.list(snapshot_path(ns))]


def test_seed_003_snapshot_then_restore_holds_exactly_the_lines_up_to_the_snapshot(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("gce-pvc", size="3Gi"))
    data = volume_dir(kube, ns, "gce-pvc") / "pod-out.txt"
    before = _append_dated_lines(data, 50)

    made = salvage(cluster.kubeconfig, "snapshot", "create", "snapshot-demo", "--pvc", "gce-pvc", "-n", ns, "--wait")
    assert made.returncode == 0, made.stderr
    assert 'volumesnapshot "snapshot-demo" created (ready)' in made.stdout
    after = _append_dated_lines(data, 20)

    restored = salvage(cluster.kubeconfig, "snapshot", "restore", "snapshot-demo", "--to-pvc", "busybox-snapshot",
                       "-n", ns, "--wait")
    assert restored.returncode == 0, restored.stderr
    assert "(Bound)" in restored.stdout
    copy = volume_dir(kube, ns, "busybox-snapshot") / "pod-out.txt"
    assert copy.read_text().splitlines() == before
    assert data.read_text().splitlines() == before + after
    claim = kube.get(claim_path(ns, "busybox-snapshot"))
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert claim["spec"]["storageClassName"] == "standard"


def test_get_and_describe_print_tables_and_raw_objects(cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    wait_bound(kube, ns, "data")
    assert salvage(cluster.kubeconfig, "snapshot", "create", "s1", "--pvc", "data", "-n", ns, "--wait").returncode == 0

    table = salvage(cluster.kubeconfig, "snapshot", "get", "-n", ns)
    assert table.stdout.split()[:8] == ["NAME", "READYTOUSE", "SOURCEPVC", "RESTORESIZE", "SNAPSHOTCLASS",
                                        "SNAPSHOTCONTENT", "CREATIONTIME", "AGE"]
    assert table.stdout.splitlines()[1].split()[:5] == ["s1", "true", "data", "1Gi", "hostpath"]
    everywhere = salvage(cluster.kubeconfig, "snapshot", "get", "-A")
    assert any(line.split()[:2] == [ns, "s1"] for line in everywhere.stdout.splitlines())

    raw = json.loads(salvage(cluster.kubeconfig, "snapshot", "get", "s1", "-n", ns, "-o", "json").stdout)
    assert raw["kind"] == "VolumeSnapshot" and raw["status"]["readyToUse"] is True
    listed = json.loads(salvage(cluster.kubeconfig, "-o", "json", "snapshot", "get", "-n", ns).stdout)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["s1"]

    described = salvage(cluster.kubeconfig, "snapshot", "describe", "s1", "-n", ns).stdout
    fields = dict(line.split(":", 1) for line in described.splitlines() if ":" in line and not line.startswith(" "))
    assert fields["Source PVC"].strip() == "data"
    assert fields["Driver"].strip() == "hostpath.salvage.io"
    assert fields["Ready To Use"].strip() == "true"
    assert fields["Restore Size"].strip() == "1Gi"
    assert fields["Error"].strip() == "<none>"
    assert "SnapshotReady" in described
    both = json.loads(salvage(cluster.kubeconfig, "snapshot", "describe", "s1", "-n", ns, "-o", "json").stdout)
    assert [i["kind"] for i in both["items"]] == ["VolumeSnapshot", "VolumeSnapshotContent"]

    deleted = salvage(cluster.kubeconfig, "snapshot", "delete", "s1", "-n", ns, "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert _snapshots(kube, ns) == []


def test_a_missing_or_unbound_claim_is_refused_and_nothing_is_created(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    missing = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "ghost", "-n", ns)
    assert missing.returncode == 1
    assert f"PersistentVolumeClaim {ns}/ghost does not exist." in missing.stderr

    # WaitForFirstConsumer: no pod, so the claim stays Pending.
    kube.create(claim_path(ns), pvc("later", storage_class="standard-wffc"))
    pending = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "later", "-n", ns)
    assert pending.returncode == 1
    assert f"PersistentVolumeClaim {ns}/later is Pending, not Bound" in pending.stderr
    assert "Traceback" not in missing.stderr + pending.stderr
    assert _snapshots(kube, ns) == []


def test_a_class_of_another_driver_is_refused(cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    klass = f"other-{ns}"
    kube.create("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
                snapshot_class(klass, driver="other.example.com"))
    try:
        kube.create(claim_path(ns), pvc("data"))
        wait_bound(kube, ns, "data")
        result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--class", klass)
        assert result.returncode == 2
        assert (f"VolumeSnapshotClass {klass} is for driver other.example.com, but the volume belongs to driver "
                "hostpath.salvage.io.") in result.stderr
        assert "VolumeSnapshotClasses for driver hostpath.salvage.io: hostpath" in result.stderr
        assert _snapshots(kube, ns) == []
    finally:
        kube.delete(f"/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/{klass}")


def test_restore_never_overwrites_a_claim_nor_shrinks_a_snapshot(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data", size="2Gi"))
    kube.create(claim_path(ns), pvc("taken"))
    wait_bound(kube, ns, "data")
    assert salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--wait").returncode == 0

    onto = salvage(cluster.kubeconfig, "snapshot", "restore", "s", "--to-pvc", "taken", "-n", ns)
    assert onto.returncode == 2
    assert f"PersistentVolumeClaim {ns}/taken already exists; a restore never overwrites a claim." in onto.stderr
    assert "dataSource" not in kube.get(claim_path(ns, "taken"))["spec"]

    small = salvage(cluster.kubeconfig, "snapshot", "restore", "s", "--to-pvc", "small", "-n", ns, "--size", "1Gi")
    assert small.returncode == 2
    assert "--size 1Gi is smaller than" in small.stderr and "restore size 2Gi" in small.stderr
    assert not kube.exists(claim_path(ns, "small"))


def test_a_snapshot_that_never_becomes_ready_times_out_with_its_reason(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    shutil.rmtree(volume_dir(kube, ns, "data"))  # the volume's storage is lost

    result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns,
                     "--wait", "--timeout", "20")
    assert result.returncode == 1
    assert f"VolumeSnapshot {ns}/s did not become ready within 20s: " in result.stderr
    assert "does not exist on hostpath.salvage.io" in result.stderr
    assert f"salvage snapshot describe s -n {ns}" in result.stderr
    described = salvage(cluster.kubeconfig, "snapshot", "describe", "s", "-n", ns).stdout
    error_line = next(line for line in described.splitlines() if line.startswith("Error:"))
    assert "does not exist on hostpath.salvage.io" in error_line
    assert "Ready To Use:     false" in described


def test_a_snapshot_that_does_not_exist_is_named_in_the_error(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    for verb in (["describe", "ghost"], ["get", "ghost"], ["delete", "ghost"],
                 ["restore", "ghost", "--to-pvc", "new"]):
        result = salvage(cluster.kubeconfig, "snapshot", *verb, "-n", ns)
        assert result.returncode == 1, verb
        assert f"VolumeSnapshot {ns}/ghost does not exist." in result.stderr
        assert result.stdout == ""
    assert not kube.exists(claim_path(ns, "new"))
