"""File-level backup on the real node through data-mover pods: a StatefulSet's volumes are
copied by pods of the salvage image (built from this checkout) into MinIO, reached from the
pods through the node's address, and restored by pods into another namespace before the
workload starts. Faults fail the backup clearly and leave no temporary object behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from salvage.devcluster.bootstrap import DEFAULT_STORAGE_CLASS
from salvage.devcluster.cluster import LocalCluster
from salvage.devcluster.images.builders import BUSYBOX
from salvage.devcluster.servers import S3Server
from salvage.devcluster.servers.relay import NodeRelay
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.model.errors import KubernetesError
from salvage.repo.locks import list_locks
from salvage.repo.snapshots import list_snapshots
from salvage.volumes import fs
from salvage.volumes.mover import LABEL_TEMPORARY
from tests.support.builders import headless_service, statefulset
from tests.support.cli import Result
from tests.support.cli import salvage as run_salvage
from tests.support.volumes import SNAPSHOTS, tree_digest, volume_dir
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

PASSWORD = "mover-test-password"
# Each replica writes a tree of its own: nested files, a symlink, a file with a hole, 1 MiB.
WRITER = ("test -e /data/done || { mkdir -p /data/a/b && echo $(hostname) > /data/id && "
          "dd if=/dev/urandom of=/data/a/b/blob bs=64k count=BLOCKS 2>/dev/null && ln -s id /data/link && "
          "dd if=/dev/urandom of=/data/holes bs=4k count=1 seek=256 2>/dev/null && chmod 600 /data/a/b/blob && "
          "touch /data/done; }; sleep 3600")


def salvage(kubeconfig: Path | None, *args: str) -> Result:
    """The CLI with the repository password in its environment (as a user would set it)."""
    return run_salvage(kubeconfig, *args, env={"SALVAGE_REPO_PASSWORD": PASSWORD})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    return tmp_path


@pytest.fixture
def minio_location(real_cluster: LocalCluster, s3_server: S3Server, s3_bucket: str, home: Path) -> Iterator[str]:
    """Location ``m`` on MinIO; pods reach it through a relay on the node's address."""
    with NodeRelay.for_endpoint(s3_server.endpoint) as relay:
        creds = [a for k, v in s3_server.credentials.items() for a in ("--credential", f"{k}={v}")]
        added = salvage(None, "location", "add", "m", "--provider", "s3", "--bucket", s3_bucket,
                        "--endpoint", s3_server.endpoint, "--pod-endpoint", relay.endpoint(),
                        "--region", s3_server.region, *creds)
        assert added.returncode == 0, added.stderr
        yield "m"


def deploy(kube: KubeClient, ns: str, replicas: int = 2, blob_mib: int = 1) -> dict[str, str]:
    """A busybox StatefulSet whose containers write their files; each replica's tree digest."""
    app = statefulset("web", replicas=replicas)
    spec = app["spec"]["template"]["spec"]
    script = WRITER.replace("BLOCKS", str(16 * blob_mib))
    spec["containers"][0].update(image=BUSYBOX.ref, command=["sh", "-c", script])
    spec["terminationGracePeriodSeconds"] = 1
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("web", "web"))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", app)
    return {f"web-{i}": written(kube, ns, f"web-{i}") for i in range(replicas)}


def written(kube: KubeClient, ns: str, pod: str) -> str:
    pod_ready(kube, ns, pod)
    root = volume_dir(kube, ns, f"data-{pod}")
    wait_for(lambda: (root / "done").exists(), timeout=60, what=f"{pod} wrote its files")
    return tree_digest(root)


def temporaries(kube: KubeClient) -> list[str]:
    selector = f"{LABEL_TEMPORARY}=true"
    return [f"{kind} {o['metadata']['namespace']}/{o['metadata']['name']}"
            for kind in ("pods", "secrets", "persistentvolumeclaims")
            for o in kube.list(f"/api/v1/{kind}", labelSelector=selector)]


def phase_of(backup: str, location: str | None = None) -> str | None:
    listed = json.loads(salvage(None, "-o", "json", "backup", "get", *(["--location", location] if location else []))
                        .stdout)
    return next((b["phase"] for b in listed if b["name"] == backup), None)


def test_statefulset_round_trip_through_mover_pods_and_minio(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, minio_location: str) -> None:
    digests = deploy(real_kube, real_ns)
    kubeconfig = real_cluster.kubeconfig

    backup = salvage(kubeconfig, "backup", "create", "files", "--include-namespaces", real_ns,
                     "--location", minio_location, "--default-volumes-to-fs-backup")
    assert backup.returncode == 0, backup.stderr
    described = json.loads(salvage(kubeconfig, "-o", "json", "backup", "describe", "files",
                                   "--location", minio_location).stdout)
    assert sorted((v["pvc"], v["method"]) for v in described["volumes"]) == [("data-web-0", "fs"),
                                                                              ("data-web-1", "fs")]
    location = open_location(minio_location)
    snapshots = list_snapshots(fs.repository(location.store, PASSWORD, create=False, read_only=True))
    # Read by the pods at their mount, not from the driver's directories on this machine.
    assert {tuple(s.wire["paths"]) for s in snapshots} == {("/data",)}
    assert sorted(s.wire["hostname"] for s in snapshots) == [f"{real_ns}/data-web-0", f"{real_ns}/data-web-1"]
    assert temporaries(real_kube) == []

    # Into a class that binds a claim only when a pod uses it: the mover pod is that pod.
    restore_into_a_copy(real_cluster, real_kube, real_ns, "files", minio_location, digests,
                        "--storage-class-mappings", f"{DEFAULT_STORAGE_CLASS}:{DEFAULT_STORAGE_CLASS}-wffc")


def restore_into_a_copy(cluster: LocalCluster, kube: KubeClient, ns: str, backup: str, location: str,
                        digests: dict[str, str], *options: str) -> None:
    """Restore ``backup`` into namespace ``<ns>-copy``: each replica's files as they were."""
    copy = f"{ns}-copy"
    try:
        restored = salvage(cluster.kubeconfig, "restore", "create", "--from-backup", backup, "--location", location,
                           "--namespace-mappings", f"{ns}:{copy}", *options)
        assert restored.returncode == 0, restored.stderr
        for pod, digest in digests.items():
            # The writer keeps files it finds: the digest is what the mover pod restored.
            assert written(kube, copy, pod) == digest, f"{pod}'s files came back byte for byte"
        assert temporaries(kube) == []
    finally:
        kube.delete_if_present(f"/api/v1/namespaces/{copy}")


def test_snapshot_data_is_moved_into_the_repository_and_the_snapshot_released(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    """On the default location, a directory: the mover pods reach it through a hostPath."""
    digests = deploy(real_kube, real_ns, replicas=1)
    kubeconfig = real_cluster.kubeconfig
    contents = f"{SNAPSHOTS}/volumesnapshotcontents"
    before = {c["metadata"]["name"] for c in real_kube.list(contents)}

    backup = salvage(kubeconfig, "backup", "create", "moved", "--include-namespaces", real_ns,
                     "--snapshot-move-data")
    assert backup.returncode == 0, backup.stderr
    described = json.loads(salvage(kubeconfig, "-o", "json", "backup", "describe", "moved").stdout)
    assert [(v["pvc"], v["method"]) for v in described["volumes"]] == [("data-web-0", "fs")]
    assert list(real_kube.list(f"{SNAPSHOTS}/namespaces/{real_ns}/volumesnapshots")) == []
    wait_for(lambda: {c["metadata"]["name"] for c in real_kube.list(contents)} <= before, timeout=30,
             what="the snapshot released")
    assert temporaries(real_kube) == []

    # The pod wrote its snapshot through the node's directory (the CLI only made the repository).
    assert len(list((home / "data" / "backups" / "repository" / "snapshots").iterdir())) == 1
    restore_into_a_copy(real_cluster, real_kube, real_ns, "moved", "default", digests)


def test_an_unschedulable_mover_fails_the_backup_within_seconds(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    deploy(real_kube, real_ns, replicas=1)
    started = time.monotonic()
    result = salvage(real_cluster.kubeconfig, "backup", "create", "nowhere", "--include-namespaces", real_ns,
                     "--default-volumes-to-fs-backup", "--mover-node-selector", "salvage.io/no-such=node")
    assert result.returncode == 1
    assert time.monotonic() - started < 40, "failed early, not at a timeout"
    assert "Mover pod " in result.stderr and "salvage-backup-" in result.stderr, result.stderr
    assert "Unschedulable" in result.stderr and "--mover-node-selector" in result.stderr, result.stderr
    assert phase_of("nowhere") == "PartiallyFailed"
    assert temporaries(real_kube) == []


def test_a_missing_password_secret_stops_the_backup_before_anything(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(real_kube, real_ns, replicas=1)
    monkeypatch.delenv("SALVAGE_REPO_PASSWORD")
    result = run_salvage(real_cluster.kubeconfig, "backup", "create", "nopw", "--include-namespaces", real_ns,
                     "--default-volumes-to-fs-backup", "--repo-password-secret", f"{real_ns}/no-such-secret")
    assert result.returncode != 0
    assert f"{real_ns}/no-such-secret" in result.stderr, result.stderr
    assert phase_of("nopw") is None
    assert temporaries(real_kube) == []


@pytest.mark.parametrize("fault", ["mover pod deleted", "Ctrl-C"])
def test_a_backup_stopped_mid_copy_fails_and_leaves_nothing(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path, fault: str) -> None:
    deploy(real_kube, real_ns, replicas=1, blob_mib=160)
    # A slow mover (a fifth of a core), so it is surely still copying when it is stopped.
    backup = subprocess.Popen(
        [sys.executable, "-m", "salvage", "--kubeconfig", str(real_cluster.kubeconfig), "backup", "create",
         "stopped", "--include-namespaces", real_ns, "--default-volumes-to-fs-backup", "--mover-cpu", "200m"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        mover = wait_for(lambda: copying(real_kube, real_ns), timeout=120, what="the mover pod copying")
        if fault == "Ctrl-C":
            backup.send_signal(signal.SIGINT)
            # The run stops its mover at once, not when the copy would have ended.
            wait_for(lambda: temporaries(real_kube) == [], timeout=5, what="the mover removed on Ctrl-C")
        else:
            real_kube.delete(f"/api/v1/namespaces/{real_ns}/pods/{mover}", gracePeriodSeconds=0)
        _, stderr = backup.communicate(timeout=120)
    finally:
        backup.kill()
    if fault == "Ctrl-C":
        assert backup.returncode == 130, stderr
        assert phase_of("stopped") == "Incomplete", "no manifest: never Completed"
    else:
        assert backup.returncode == 1
        assert f"Mover pod {real_ns}/{mover}" in stderr and "deleted before it finished" in stderr, stderr
        assert phase_of("stopped") == "PartiallyFailed"
        wait_for(lambda: temporaries(real_kube) == [], timeout=30, what="no temporary object left")
        # Nor the dead pod's lock, which would hold up prune and deletion for half an hour.
        repo = fs.repository(open_location("default").store, PASSWORD, create=False)
        assert list_locks(repo) == []


def copying(kube: KubeClient, ns: str) -> str | None:
    """The name of the mover pod in ``ns`` once its log shows the copy under way."""
    for pod in kube.list(f"/api/v1/namespaces/{ns}/pods", labelSelector=f"{LABEL_TEMPORARY}=true"):
        name = pod["metadata"]["name"]
        try:
            log = kube.get_text(f"/api/v1/namespaces/{ns}/pods/{name}/log")
        except KubernetesError:
            continue
        if '"event": "progress"' in log:
            return str(name)
    return None

