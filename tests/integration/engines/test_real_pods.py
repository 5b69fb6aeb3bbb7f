"""Behaviour that lives in a pod, on the real node: consistency hooks run real commands in
real containers (what they write is inside the snapshot, or not, by their order), a
recovered StatefulSet's new container reads the data it was recovered with, written before
by the old container, and seed 002's replicas cloned from one snapshot (then rotated to a
newer one) read in their own containers what the producer's container wrote. The kwok versions of these tests stay, for the exec protocol's corner
cases that a real shell cannot stage (test_snapshot_hooks_on_cluster.py, statefulset/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images.builders import BUSYBOX
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from tests.support.builders import headless_service, pvc, real_pod, statefulset
from tests.support.cli import salvage
from tests.support.volumes import claim_path, snapshot_path, volume_dir
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration


def ready(kube: KubeClient, ns: str, pod: str) -> None:
    pod_ready(kube, ns, pod)


def in_pod(kube: KubeClient, ns: str, pod: str, script: str) -> str:
    result = exec_in_pod(kube, ns, pod, ["sh", "-c", script], timeout=60)
    assert result.ok, f"{script!r} in {pod}: {result.stderr or result.message}"
    return result.stdout


def test_hooks_run_in_the_container_and_the_snapshot_holds_what_the_pre_hook_wrote(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(claim_path(real_ns), pvc("data"))
    pod = real_pod("db", "echo 1 > /data/rows && sleep 3600", claim="data")
    pod["metadata"]["annotations"] = {
        # The application's own quiescing: a marker in its data and its buffers on disk.
        "pre.hook.snapshot.salvage.io/command": json.dumps(
            ["sh", "-c", "echo quiesced-by-$(hostname) >> /data/hooks.log && sync"]),
        "post.hook.snapshot.salvage.io/command": json.dumps(["sh", "-c", "echo resumed >> /data/hooks.log"]),
    }
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", pod)
    ready(real_kube, real_ns, "db")

    made = salvage(real_cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", real_ns, "--wait")
    assert made.returncode == 0, made.stderr
    assert in_pod(real_kube, real_ns, "db", "cat /data/hooks.log") == "quiesced-by-db\nresumed\n"

    restored = salvage(real_cluster.kubeconfig, "snapshot", "restore", "s", "--to-pvc", "copy", "-n", real_ns,
                       "--wait")
    assert restored.returncode == 0, restored.stderr
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("reader", "sleep 3600", claim="copy"))
    ready(real_kube, real_ns, "reader")
    assert in_pod(real_kube, real_ns, "reader", "cat /data/hooks.log") == "quiesced-by-db\n", \
        "the pre hook ran before the snapshot and the post hook after it"


def _hooked_pod(kube: KubeClient, ns: str, pre: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    pod = real_pod("db", "sleep 3600", claim="data")
    pod["metadata"]["annotations"] = {
        "pre.hook.snapshot.salvage.io/command": json.dumps(["sh", "-c", pre]),
        "post.hook.snapshot.salvage.io/command": json.dumps(["sh", "-c", "echo resumed >> /data/hooks.log"]),
    }
    kube.create(f"/api/v1/namespaces/{ns}/pods", pod)
    ready(kube, ns, "db")


def test_backup_create_holds_the_application_with_its_hooks_around_the_volume_snapshot(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    _hooked_pod(real_kube, real_ns, "echo quiesced >> /data/hooks.log && sync")

    made = salvage(real_cluster.kubeconfig, "backup", "create", "held", "--include-namespaces", real_ns)
    assert made.returncode == 0, made.stderr
    assert in_pod(real_kube, real_ns, "db", "cat /data/hooks.log") == "quiesced\nresumed\n"
    log = salvage(real_cluster.kubeconfig, "backup", "logs", "held").stdout
    assert f"running pre hook in pod {real_ns}/db" in log, log

    copy = f"{real_ns}-copy"
    restored = salvage(real_cluster.kubeconfig, "restore", "create", "held-copy", "--from-backup", "held",
                       "--namespace-mappings", f"{real_ns}:{copy}")
    try:
        assert restored.returncode == 0, restored.stderr
        ready(real_kube, copy, "db")
        assert in_pod(real_kube, copy, "db", "cat /data/hooks.log") == "quiesced\n", \
            "the snapshot was cut after the pre hook and before the post hook"
    finally:
        real_kube.delete(f"/api/v1/namespaces/{copy}")


def test_backup_create_with_a_failing_pre_hook_captures_no_volume_and_still_releases_the_app(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    _hooked_pod(real_kube, real_ns, "test -e /data/ready || exit 3")

    made = salvage(real_cluster.kubeconfig, "backup", "create", "unheld", "--include-namespaces", real_ns)
    assert made.returncode == 1
    described = json.loads(salvage(real_cluster.kubeconfig, "-o", "json", "backup", "describe", "unheld").stdout)
    assert described["phase"] == "PartiallyFailed"
    [volume] = described["volumes"]
    assert volume["method"] == "none" and "exit code 3" in volume["error"] and f"{real_ns}/db" in volume["error"]
    assert in_pod(real_kube, real_ns, "db", "cat /data/hooks.log") == "resumed\n", "the post hook still ran"
    assert list(real_kube.list(snapshot_path(real_ns))) == [], "no snapshot was taken"


def test_a_real_pre_hook_that_fails_stops_the_snapshot(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(claim_path(real_ns), pvc("data"))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("db", "sleep 3600", claim="data"))
    ready(real_kube, real_ns, "db")

    result = salvage(real_cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", real_ns,
                     "--pre-hook", "sh -c 'test -e /data/ready || exit 3'",
                     "--post-hook", "sh -c 'echo post-ran > /data/post'")
    assert result.returncode == 1
    assert "exit code 3" in result.stderr, result.stderr
    assert not real_kube.exists(snapshot_path(real_ns, "s"))
    assert in_pod(real_kube, real_ns, "db", "cat /data/post").strip() == "post-ran", "the post hook still runs"


def test_a_recovered_statefulset_reads_in_its_new_container_what_the_old_one_wrote(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    app = statefulset("web", replicas=2)
    container = app["spec"]["template"]["spec"]["containers"][0]
    container["image"] = BUSYBOX.ref
    container["command"] = ["sh", "-c", "test -e /data/id || echo written-by-$(hostname) > /data/id; sleep 3600"]
    app["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
    real_kube.create(f"/api/v1/namespaces/{real_ns}/services", headless_service("web", "web"))
    real_kube.create(f"/apis/apps/v1/namespaces/{real_ns}/statefulsets", app)
    for ordinal in (0, 1):
        ready(real_kube, real_ns, f"web-{ordinal}")
        assert in_pod(real_kube, real_ns, f"web-{ordinal}", "cat /data/id").strip() == f"written-by-web-{ordinal}"

    backup = salvage(real_cluster.kubeconfig, "backup", "create", "nightly", "--include-namespaces", real_ns)
    assert backup.returncode == 0, backup.stderr
    # The worst day for replica 1: its StatefulSet and its volume's data are gone.
    real_kube.delete(f"/apis/apps/v1/namespaces/{real_ns}/statefulsets/web")
    wait_for(lambda: not real_kube.exists(f"/api/v1/namespaces/{real_ns}/pods/web-1"), timeout=120,
             what="web-1 deleted")
    shutil.rmtree(volume_dir(real_kube, real_ns, "data-web-1"))  # as a lost disk: the PV points at nothing

    recovered = salvage(real_cluster.kubeconfig, "statefulset", "recover", "web", "-n", real_ns,
                        "--from-backup", "nightly", "--ordinals", "1")
    assert recovered.returncode == 0, recovered.stderr
    ready(real_kube, real_ns, "web-1")
    # Read in the recovered container itself: the old container's file, not a new one.
    assert in_pod(real_kube, real_ns, "web-1", "cat /data/id").strip() == "written-by-web-1"
    assert in_pod(real_kube, real_ns, "web-0", "cat /data/id").strip() == "written-by-web-0"


def test_seed_002_replicas_cloned_from_one_snapshot_read_the_producers_files_then_rotate(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path: Path) -> None:
    # The article's producer: a pod that fetches files into its claim (here it writes them).
    real_kube.create(claim_path(real_ns), pvc("data"))
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods",
                     real_pod("producer", "echo 'Hello World!' > /data/index.html && sleep 3600", claim="data"))
    ready(real_kube, real_ns, "producer")
    wait_for(lambda: in_pod(real_kube, real_ns, "producer", "cat /data/index.html 2>/dev/null || true"),
             timeout=30, what="the producer's file")
    cli = lambda *args: salvage(real_cluster.kubeconfig, *args, "-n", real_ns)  # noqa: E731
    assert cli("snapshot", "create", "data-2021-07-15", "--pvc", "data", "--wait").returncode == 0

    consumer = statefulset("consumer", replicas=3)
    spec = consumer["spec"]["template"]["spec"]
    spec["terminationGracePeriodSeconds"] = 1
    spec["containers"][0].update(image=BUSYBOX.ref, imagePullPolicy="Never", command=["sh", "-c", "sleep 3600"])
    manifest = tmp_path / "consumer.yaml"
    manifest.write_text(yaml.safe_dump(consumer, sort_keys=False))
    cloned = cli("statefulset", "clone", "--snapshot", "data-2021-07-15", "--to", "consumer",
                 "--replicas", "3", "--from-manifest", str(manifest), "--timeout", "180")
    assert cloned.returncode == 0, cloned.stderr
    for ordinal in range(3):
        ready(real_kube, real_ns, f"consumer-{ordinal}")
        assert in_pod(real_kube, real_ns, f"consumer-{ordinal}", "cat /data/index.html") == "Hello World!\n"

    # New files upstream: a newer snapshot, and the replicas rotated onto it.
    in_pod(real_kube, real_ns, "producer", "echo 'updated files' > /data/index.html && sync")
    assert cli("snapshot", "create", "data-2021-07-16", "--pvc", "data", "--wait").returncode == 0
    rotated = cli("statefulset", "rotate", "consumer", "--to-snapshot", "data-2021-07-16", "--timeout", "180")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "consumer-r2"
    for ordinal in range(3):
        ready(real_kube, real_ns, f"consumer-r2-{ordinal}")
        assert in_pod(real_kube, real_ns, f"consumer-r2-{ordinal}", "cat /data/index.html") == "updated files\n"
    assert not real_kube.exists(f"/apis/apps/v1/namespaces/{real_ns}/statefulsets/consumer")
