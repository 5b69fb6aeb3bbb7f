"""File-level backup on the real node through data-mover pods: a StatefulSet's volumes are
copied by pods of the salvage image (built from this checkout) into MinIO, reached from the
pods through the node's address, and restored by pods into another namespace before the
workload starts. Faults fail the backup clearly and leave no temporary object behind."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from salvage.devcluster.bootstrap import DEFAULT_STORAGE_CLASS
from salvage.devcluster.local_cluster import LIMITED_USER, LocalCluster
from salvage.devcluster.images.builders import BUSYBOX
from salvage.devcluster.servers import S3Server
from salvage.devcluster.servers.minio import start_minio
from salvage.devcluster.servers.relay import NodeRelay
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.model.errors import KubernetesError
from salvage.operator import install
from salvage.repo.locks import list_locks
from salvage.repo.snapshots import list_snapshots
from salvage.volumes import fs
from salvage.volumes.mover import LABEL_TEMPORARY
from salvage.volumes.mover.manifests import ANNOTATION_HEARTBEAT as HEARTBEAT
from salvage.volumes.mover.manifests import HEARTBEAT_STALE
from tests.support.builders import headless_service, statefulset
from tests.support.cli import Result
from tests.support.cli import salvage as run_salvage
from tests.support.volumes import SNAPSHOTS, full_tree_digest, volume_dir
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

PASSWORD = "mover-test-password"
# Each replica writes a tree of its own: nested files, a symlink, a file with a hole, 1 MiB;
# then it keeps writing (a 32-byte record rewritten in place, as a database rewrites a page)
# under live/, which no digest includes: backups are taken while it writes.
LIVE = "live"
WRITER = ("test -e /data/done || { mkdir -p /data/a/b /data/live && echo $(hostname) > /data/id && "
          "dd if=/dev/urandom of=/data/a/b/blob bs=64k count=BLOCKS 2>/dev/null && ln -s id /data/link && "
          "dd if=/dev/urandom of=/data/holes bs=4k count=1 seek=256 2>/dev/null && chmod 600 /data/a/b/blob && "
          "touch /data/done; }; "
          "while true; do date | dd of=/data/live/state bs=32 count=1 conv=notrunc,sync 2>/dev/null; sleep 0.2; done")
Digest = dict[str, tuple[object, ...]]


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


def deploy(kube: KubeClient, ns: str, replicas: int = 2, blob_mib: int = 1,
           storage_class: str | None = None) -> dict[str, Digest]:
    """A busybox StatefulSet whose containers write their files (and keep writing); each
    replica's tree digest, once it has written them."""
    app = statefulset("web", replicas=replicas, storage_class=storage_class)
    spec = app["spec"]["template"]["spec"]
    script = WRITER.replace("BLOCKS", str(16 * blob_mib))
    spec["containers"][0].update(image=BUSYBOX.ref, command=["sh", "-c", script])
    spec["terminationGracePeriodSeconds"] = 1
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("web", "web"))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", app)
    digests = {}
    for i in range(replicas):
        root = files_of(kube, ns, f"web-{i}")
        # What busybox cannot make, made from this machine (the node): an owner, an
        # extended attribute, a modification time to the nanosecond.
        os.chown(root / "id", 1234, 5678)
        os.setxattr(root / "a" / "b" / "blob", "user.salvage", b"kept")
        os.utime(root / "holes", ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
        digests[f"web-{i}"] = full_tree_digest(root, skip=(LIVE,))
    return digests


def files_of(kube: KubeClient, ns: str, pod: str) -> Path:
    """The directory of ``pod``'s volume, once it has written its tree."""
    pod_ready(kube, ns, pod)
    root = volume_dir(kube, ns, f"data-{pod}")
    wait_for(lambda: (root / "done").exists(), timeout=60, what=f"{pod} wrote its files")
    return root


def written(kube: KubeClient, ns: str, pod: str) -> Digest:
    return full_tree_digest(files_of(kube, ns, pod), skip=(LIVE,))


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
    """Three replicas that keep writing, copied by mover pods one at a time on the node
    (--mover-per-node 1, though --parallel-volumes would allow 3), restored elsewhere."""
    digests = deploy(real_kube, real_ns, replicas=3)
    kubeconfig = real_cluster.kubeconfig

    with MoverWatch(real_kube, real_ns) as watch:
        backup = salvage(kubeconfig, "backup", "create", "files", "--include-namespaces", real_ns,
                         "--location", minio_location, "--default-volumes-to-fs-backup",
                         "--parallel-volumes", "3", "--mover-per-node", "1")
    assert backup.returncode == 0, backup.stderr
    assert len(watch.seen) == 3 and watch.most_at_once == 1, (watch.seen, watch.most_at_once)
    described = json.loads(salvage(kubeconfig, "-o", "json", "backup", "describe", "files",
                                   "--location", minio_location).stdout)
    claims = [f"data-web-{i}" for i in range(3)]
    assert sorted((v["pvc"], v["method"]) for v in described["volumes"]) == [(c, "fs") for c in claims]
    location = open_location(minio_location)
    snapshots = list_snapshots(fs.repository(location.store, PASSWORD, create=False, read_only=True))
    # Read by the pods at their mount, not from the driver's directories on this machine.
    assert {tuple(s.wire["paths"]) for s in snapshots} == {("/data",)}
    assert sorted(s.wire["hostname"] for s in snapshots) == [f"{real_ns}/{c}" for c in claims]
    assert temporaries(real_kube) == []

    # Into a class that binds a claim only when a pod uses it: the mover pod is that pod.
    restore_into_a_copy(real_cluster, real_kube, real_ns, "files", minio_location, digests,
                        "--storage-class-mappings", f"{DEFAULT_STORAGE_CLASS}:{DEFAULT_STORAGE_CLASS}-wffc")


class MoverWatch:
    """Polls a namespace's mover pods while a command runs: every one seen, and the most
    that were alive at once."""

    def __init__(self, kube: KubeClient, ns: str) -> None:
        self.kube, self.ns = kube, ns
        self.seen: set[str] = set()
        self.most_at_once = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> MoverWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            alive = [p["metadata"]["name"] for p in self.kube.list(
                f"/api/v1/namespaces/{self.ns}/pods", labelSelector=f"{LABEL_TEMPORARY}=true")
                     if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
            self.seen.update(alive)
            self.most_at_once = max(self.most_at_once, len(alive))


def restore_into_a_copy(cluster: LocalCluster, kube: KubeClient, ns: str, backup: str, location: str,
                        digests: dict[str, Digest], *options: str) -> None:
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


def test_snapshot_data_moved_by_its_storage_class_restores_into_a_second_cluster(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, s3_server: S3Server, s3_bucket: str,
        minio_location: str) -> None:
    """A StorageClass annotated ``snapshot-move-data`` (no backup option): three replicas
    that keep writing are snapshotted, their snapshots' files moved into MinIO. Then the
    cluster goes down and a second cluster (the machine's one real node, started anew)
    restores them into another StorageClass: only the location is shared."""
    moved_class = f"moved-{real_ns}"
    standard = real_kube.get(f"/apis/storage.k8s.io/v1/storageclasses/{DEFAULT_STORAGE_CLASS}")
    real_kube.create("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": moved_class, "annotations": {fs.METHOD_ANNOTATION: fs.SNAPSHOT_MOVE}},
        "provisioner": standard["provisioner"], "parameters": standard.get("parameters") or {},
        "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
    try:
        digests = deploy(real_kube, real_ns, replicas=3, storage_class=moved_class)
        backup = salvage(real_cluster.kubeconfig, "backup", "create", "by-class", "--include-namespaces", real_ns,
                         "--location", minio_location)
        assert backup.returncode == 0, backup.stderr
        described = json.loads(salvage(None, "-o", "json", "backup", "describe", "by-class",
                                       "--location", minio_location).stdout)
        assert sorted((v["pvc"], v["method"]) for v in described["volumes"]) == [
            (f"data-web-{i}", "fs") for i in range(3)]
        assert list(real_kube.list(f"{SNAPSHOTS}/namespaces/{real_ns}/volumesnapshots")) == []
        assert temporaries(real_kube) == []

        real_cluster.down(keep=True)  # its API server, node and volumes out of reach
        second = LocalCluster(f"r2-{os.getpid()}")
        try:
            second.up(nodes=1, real_nodes=1)
            with second.client() as kube, NodeRelay.for_endpoint(s3_server.endpoint) as relay:
                # The second cluster's own view of the same bucket.
                creds = [a for k, v in s3_server.credentials.items() for a in ("--credential", f"{k}={v}")]
                added = salvage(None, "location", "add", "m2", "--provider", "s3", "--bucket", s3_bucket,
                                "--endpoint", s3_server.endpoint, "--pod-endpoint", relay.endpoint(),
                                "--region", s3_server.region, "--access-mode", "ReadOnly", *creds)
                assert added.returncode == 0, added.stderr
                restored = salvage(second.kubeconfig, "restore", "create", "--from-backup", "by-class",
                                   "--location", "m2", "--storage-class-mappings",
                                   f"{moved_class}:{DEFAULT_STORAGE_CLASS}-wffc")
                assert restored.returncode == 0, restored.stderr
                for pod, digest in digests.items():
                    claim = kube.get(f"/api/v1/namespaces/{real_ns}/persistentvolumeclaims/data-{pod}")
                    assert claim["spec"]["storageClassName"] == f"{DEFAULT_STORAGE_CLASS}-wffc"
                    assert written(kube, real_ns, pod) == digest, f"{pod}'s files came back as backed up"
                assert temporaries(kube) == []
        finally:
            if second.exists:
                second.down()
            real_cluster.up(nodes=1, real_nodes=1)
    finally:
        real_kube.delete_if_present(f"/apis/storage.k8s.io/v1/storageclasses/{moved_class}")


def test_the_operators_cluster_role_is_all_the_mover_needs(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    """A user with only the operator's ClusterRole (salvage install's, whose rules
    docs/operator.md lists) backs up through mover pods and restores through them."""
    role = next(m for m in install.manifests() if m["kind"] == "ClusterRole")
    name = f"mover-rbac-{real_ns}"
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    real_kube.create(f"{rbac}/clusterroles", {**role, "metadata": {"name": name}})
    real_kube.create(f"{rbac}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED_USER}]})
    try:
        digests = deploy(real_kube, real_ns, replicas=1)
        as_operator = real_cluster.limited_kubeconfig
        backup = salvage(as_operator, "backup", "create", "rbac", "--include-namespaces", real_ns,
                         "--default-volumes-to-fs-backup")
        assert backup.returncode == 0, backup.stderr
        assert phase_of("rbac") == "Completed"
        copy = f"{real_ns}-copy"
        try:
            restored = salvage(as_operator, "restore", "create", "--from-backup", "rbac",
                               "--namespace-mappings", f"{real_ns}:{copy}")
            assert restored.returncode == 0, restored.stderr
            assert written(real_kube, copy, "web-0") == digests["web-0"]
        finally:
            real_kube.delete_if_present(f"/api/v1/namespaces/{copy}")
        assert temporaries(real_kube) == []
    finally:
        real_kube.delete_if_present(f"{rbac}/clusterrolebindings/{name}")
        real_kube.delete_if_present(f"{rbac}/clusterroles/{name}")


def test_a_full_store_fails_the_backup_clearly_and_leaves_nothing(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path, tmp_path: Path) -> None:
    """MinIO on a small tmpfs fills up while the mover pod uploads a volume larger than the
    room left: the backup fails naming the pod and the full store, is not Completed, and
    no temporary object or repository lock is left."""
    workdir = tmp_path / "small-minio"
    workdir.mkdir()
    # 64 MiB for MinIO (which keeps the last 1% free), the volume holds 160 MiB of random data.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(workdir)], check=True)
    try:
        server = start_minio(workdir)
        try:
            boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                         aws_access_key_id=server.access_key_id,
                         aws_secret_access_key=server.secret_access_key).create_bucket(Bucket="small")
            with NodeRelay.for_endpoint(server.endpoint) as relay:
                creds = [a for k, v in server.credentials.items() for a in ("--credential", f"{k}={v}")]
                added = salvage(None, "location", "add", "small", "--provider", "s3", "--bucket", "small",
                                "--endpoint", server.endpoint, "--pod-endpoint", relay.endpoint(),
                                "--region", server.region, *creds)
                assert added.returncode == 0, added.stderr
                deploy(real_kube, real_ns, replicas=1, blob_mib=160)
                result = salvage(real_cluster.kubeconfig, "backup", "create", "overflow", "--include-namespaces",
                                 real_ns, "--location", "small", "--default-volumes-to-fs-backup")
            assert result.returncode != 0
            assert f"Mover pod {real_ns}/salvage-backup-" in result.stderr, result.stderr
            assert "store is full" in result.stderr, result.stderr
            assert phase_of("overflow", "small") != "Completed"
            assert temporaries(real_kube) == []
            repo = fs.repository(open_location("small").store, PASSWORD, create=False)
            assert list_locks(repo) == [], "the failed mover's lock was removed"
        finally:
            server.stop()
    finally:
        subprocess.run(["umount", "--lazy", str(workdir)], check=True)


@pytest.mark.parametrize(("option", "value", "reason", "advice"), [
    ("--mover-node-selector", "salvage.io/no-such=node", "Unschedulable", "--mover-node-selector"),
    ("--mover-image", "salvage.local/no-such-image:0", "ImagePullBackOff", "--mover-image"),
], ids=["unschedulable", "image not pullable"])
def test_a_mover_that_cannot_start_fails_the_backup_within_seconds(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path,
        option: str, value: str, reason: str, advice: str) -> None:
    """Velero's prepare timeouts (#8113, #8125, #7261) and late failures (#6562): here the
    error comes within seconds, with Kubernetes' reason and what to do."""
    deploy(real_kube, real_ns, replicas=1)
    started = time.monotonic()
    result = salvage(real_cluster.kubeconfig, "backup", "create", "nowhere", "--include-namespaces", real_ns,
                     "--default-volumes-to-fs-backup", option, value)
    assert result.returncode == 1
    assert time.monotonic() - started < 40, "failed early, not at a timeout"
    assert "Mover pod " in result.stderr and "salvage-backup-" in result.stderr, result.stderr
    assert reason in result.stderr and advice in result.stderr, result.stderr
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
            wait_for(lambda: temporaries(real_kube) == [], timeout=30, what="the mover removed on Ctrl-C")
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


def test_after_a_killed_run_the_next_backup_removes_its_mover_and_completes(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    """The CLI killed outright (SIGKILL: no Ctrl-C handler runs) while its mover copies: the
    mover's heartbeat stops, and the next backup removes the orphan (pod, Secret, its
    repository lock) before it starts its own, then completes; the killed one never does."""
    deploy(real_kube, real_ns, replicas=1, blob_mib=160)
    backup = subprocess.Popen(
        [sys.executable, "-m", "salvage", "--kubeconfig", str(real_cluster.kubeconfig), "backup", "create",
         "killed", "--include-namespaces", real_ns, "--default-volumes-to-fs-backup", "--mover-cpu", "200m",
         "--mover-timeout", "3000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    try:
        orphan = wait_for(lambda: copying(real_kube, real_ns), timeout=120, what="the mover pod copying")
    finally:
        backup.kill()
        backup.wait(timeout=30)
    path = f"/api/v1/namespaces/{real_ns}/pods/{orphan}"
    last_beat = real_kube.get(path)["metadata"]["annotations"][HEARTBEAT]
    # Within the pod's hour-long expiry; only the stopped heartbeat lets the sweep take it.
    wait_for(lambda: heartbeat_age(last_beat) > HEARTBEAT_STALE, timeout=HEARTBEAT_STALE + 30,
             what="the killed run's heartbeat stale")
    assert real_kube.find(path) is not None, "the kubelet did not stop it by itself"

    after = salvage(real_cluster.kubeconfig, "backup", "create", "after", "--include-namespaces", real_ns,
                    "--default-volumes-to-fs-backup")
    assert after.returncode == 0, after.stderr
    assert phase_of("after") == "Completed" and phase_of("killed") == "Incomplete"
    wait_for(lambda: temporaries(real_kube) == [], timeout=30, what="the orphan and its Secret gone")
    repo = fs.repository(open_location("default").store, PASSWORD, create=False)
    assert [lock.wire["hostname"] for lock in list_locks(repo)] == [], "the orphan's lock went with it"


def heartbeat_age(stamp: str) -> float:
    beat = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return (dt.datetime.now(dt.timezone.utc) - beat).total_seconds()


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

