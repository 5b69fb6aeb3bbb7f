"""Consistency hooks run through the real exec path (API server → kwok), in order, with their policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from tests.support.builders import kwok_exec, pod, pvc
from tests.support.cli import salvage
from tests.support.volumes import claim_path, snapshot_path, volume_dir
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _app_on_volume(kube: KubeClient, ns: str, annotations: dict[str, str] | None = None) -> Path:
    """PVC `data`, a Running pod `db` mounting it, and exec in `db` running inside the volume."""
    kube.create(claim_path(ns), pvc("data"))
    volume = volume_dir(kube, ns, "data")
    kube.create(f"/api/v1/namespaces/{ns}/pods", pod("db", claim="data", annotations=annotations))
    kube.create(f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{ns}/execs", kwok_exec("db", str(volume)))
    wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/pods/db").get("status", {}).get("phase") == "Running",
             timeout=60, what="pod db Running")
    wait_for(lambda: exec_in_pod(kube, ns, "db", ["true"]).ok, what="kwok to serve exec in db")
    return volume


def _append(word: str, exit_code: int = 0) -> str:
    return json.dumps(["sh", "-c", f"echo {word} >> order.log; exit {exit_code}"])


def test_annotated_hooks_run_before_and_after_the_snapshot(cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    volume = _app_on_volume(kube, ns, {
        "pre.hook.snapshot.salvage.io/command": _append("pre"),
        "pre.hook.snapshot.salvage.io/container": "app",
        "pre.hook.snapshot.salvage.io/timeout": "20s",
        "post.hook.snapshot.salvage.io/command": _append("post"),
        "post.hook.snapshot.salvage.io/on-error": "fail",
    })

    made = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--wait")
    assert made.returncode == 0, made.stderr
    assert f"running pre hook in pod {ns}/db container app" in made.stderr
    assert (volume / "order.log").read_text() == "pre\npost\n"

    # The snapshot holds the pre hook's line but not the post hook's: pre, snapshot, post.
    restored = salvage(cluster.kubeconfig, "snapshot", "restore", "s", "--to-pvc", "copy", "-n", ns, "--wait")
    assert restored.returncode == 0, restored.stderr
    assert (volume_dir(kube, ns, "copy") / "order.log").read_text() == "pre\n"


def test_a_failing_pre_hook_aborts_and_the_post_hook_still_runs(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    volume = _app_on_volume(kube, ns)

    result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns,
                     "--pre-hook", _append("pre", 3), "--post-hook", _append("post"))
    assert result.returncode == 1
    assert "The pre hook" in result.stderr and "exit status 3" in result.stderr
    assert f"VolumeSnapshot {ns}/s was not created." in result.stderr
    assert not kube.exists(snapshot_path(ns, "s"))
    assert (volume / "order.log").read_text() == "pre\npost\n"


def test_on_error_continue_snapshots_despite_a_failing_or_slow_hook(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    volume = _app_on_volume(kube, ns)

    result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--wait",
                     "--pre-hook", "sleep 5", "--hook-timeout", "1s", "--hook-on-error", "continue",
                     "--post-hook", _append("post"))
    assert result.returncode == 0, result.stderr
    assert "did not finish within 1s" in result.stderr and "continuing (on-error=continue)" in result.stderr
    assert kube.get(snapshot_path(ns, "s"))["status"]["readyToUse"] is True
    assert (volume / "order.log").read_text() == "post\n"


def test_hooks_without_a_pod_using_the_claim_are_refused(cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    kube.create(claim_path(ns), pvc("data"))
    volume_dir(kube, ns, "data")
    result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--pre-hook", "sync")
    assert result.returncode == 2
    assert f"no running pod mounts PVC {ns}/data" in result.stderr
    assert not kube.exists(snapshot_path(ns, "s"))


def test_a_failing_post_hook_fails_the_command_but_keeps_the_snapshot(
        cluster: LocalCluster, kube: KubeClient, ns: str) -> None:
    _app_on_volume(kube, ns)

    result = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns,
                     "--post-hook", _append("post", 5))
    assert result.returncode == 1
    assert f"VolumeSnapshot {ns}/s was created, but: The post hook" in result.stderr
    assert kube.exists(snapshot_path(ns, "s"))


def test_hook_container_chooses_where_the_hooks_run(cluster: LocalCluster, kube: KubeClient, ns: str,
                                                   tmp_path: Path) -> None:
    kube.create(claim_path(ns), pvc("data"))
    volume = volume_dir(kube, ns, "data")
    kube.create(f"/api/v1/namespaces/{ns}/pods", pod("db", claim="data", containers=("app", "sidecar")))
    sidecar = tmp_path / "sidecar"
    sidecar.mkdir()
    rules = [{"containers": ["app"], "local": {"workDir": str(volume)}},
             {"containers": ["sidecar"], "local": {"workDir": str(sidecar)}}]
    kube.create(f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{ns}/execs",
                {**kwok_exec("db", str(volume)), "spec": {"execs": rules}})
    wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/pods/db").get("status", {}).get("phase") == "Running",
             timeout=60, what="pod db Running")
    wait_for(lambda: exec_in_pod(kube, ns, "db", ["true"], container="sidecar").ok,
             what="kwok to serve exec in db's sidecar")

    made = salvage(cluster.kubeconfig, "snapshot", "create", "s", "--pvc", "data", "-n", ns, "--wait",
                   "--hook-container", "sidecar", "--pre-hook", _append("pre"), "--post-hook", _append("post"))

    assert made.returncode == 0, made.stderr
    assert f"running pre hook in pod {ns}/db container sidecar" in made.stderr
    assert (sidecar / "order.log").read_text() == "pre\npost\n"
    assert not (volume / "order.log").exists(), "nothing ran in the default container"

    unknown = salvage(cluster.kubeconfig, "snapshot", "create", "s2", "--pvc", "data", "-n", ns,
                      "--hook-container", "nosuch", "--pre-hook", _append("pre"))
    assert unknown.returncode != 0 and "nosuch" in unknown.stderr
    assert not kube.exists(snapshot_path(ns, "s2")), "no snapshot without its pre hook"
