"""Drills of a 3-replica StatefulSet on the real node: the checks run in the restored
containers, a failing check fails the drill naming the pod, and either way nothing of the
drill stays (namespace, claim, volume)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salvage.devcluster.cluster import LocalCluster
from salvage.devcluster.images.builders import BUSYBOX
from salvage.k8s.client import KubeClient
from tests.support.builders import headless_service, statefulset
from tests.support.cli import salvage
from tests.support.waiting import pod_ready

pytestmark = pytest.mark.integration

# Each replica checks, in its own restored container, the file its original wrote.
CHECK = 'sh -c \'test "$(cat /data/id)" = "written-by-$(hostname)"\''


@pytest.fixture
def backed_up(real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    app = statefulset("web", replicas=3)
    spec = app["spec"]["template"]["spec"]
    spec["terminationGracePeriodSeconds"] = 1
    spec["containers"][0].update(image=BUSYBOX.ref, imagePullPolicy="Never", command=[
        "sh", "-c", "test -e /data/id || echo written-by-$(hostname) > /data/id; sync; sleep 3600"])
    real_kube.create(f"/api/v1/namespaces/{real_ns}/services", headless_service("web", "web"))
    real_kube.create(f"/apis/apps/v1/namespaces/{real_ns}/statefulsets", app)
    for ordinal in range(3):
        pod_ready(real_kube, real_ns, f"web-{ordinal}")
    made = salvage(real_cluster.kubeconfig, "backup", "create", "web-nightly", "--include-namespaces", real_ns)
    assert made.returncode == 0, made.stderr
    return "web-nightly"


def _leftovers(kube: KubeClient, drill: dict) -> list[str]:
    scratch = set(drill["namespaces"].values())
    assert scratch, drill
    left = [f"namespace {n}" for n in scratch if kube.exists(f"/api/v1/namespaces/{n}")]
    return left + [f"pv {pv['metadata']['name']}" for pv in kube.list("/api/v1/persistentvolumes")
                   if (pv["spec"].get("claimRef") or {}).get("namespace") in scratch]


def test_a_drill_runs_its_check_in_every_restored_replica(real_cluster: LocalCluster, real_kube: KubeClient,
                                                           real_ns: str, backed_up: str) -> None:
    out = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", backed_up,
                  "--verify-command", CHECK, "--timeout", "180")

    assert out.returncode == 0, out.stderr
    drill = json.loads(out.stdout)
    assert drill["phase"] == "Passed"
    scratch = drill["namespaces"][real_ns]
    verified = sorted(c["name"] for c in drill["checks"] if c["name"].startswith("verify-command"))
    assert verified == [f"verify-command {scratch}/web-{o}" for o in range(3)]
    assert all(c["passed"] for c in drill["checks"])
    print(f"\ndrill of a 3-replica StatefulSet on the real node: {drill['recovery_time_seconds']}s, "
          f"phases {drill['phases']}")
    assert drill["phases"]["readiness"] > 0
    assert _leftovers(real_kube, drill) == [] and drill["cleanup"] == []


def test_a_failing_check_fails_the_drill_naming_the_pod_and_still_cleans_up(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, backed_up: str) -> None:
    out = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", backed_up,
                  "--verify-command", "sh -c 'echo no rows; exit 3'", "--verify-selector",
                  "statefulset.kubernetes.io/pod-name=web-1", "--timeout", "180")

    assert out.returncode == 1
    drill = json.loads(out.stdout)
    scratch = drill["namespaces"][real_ns]
    assert drill["phase"] == "Failed" and drill["recovery_time_seconds"] is None
    [failed] = [c for c in drill["checks"] if not c["passed"]]
    assert failed["name"] == f"verify-command {scratch}/web-1"
    assert "exit code 3" in failed["detail"] and "no rows" in failed["detail"]
    assert _leftovers(real_kube, drill) == []
