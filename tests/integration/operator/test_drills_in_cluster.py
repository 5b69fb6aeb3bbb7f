"""Drill resources with the operator in a real pod on the real node: a scheduled Drill of a
StatefulSet's backup restores it into a scratch namespace, runs its check in the restored
container and passes; one whose check fails is Failed naming the pod; both outcomes are on
/metrics through the operator's Service; nothing of either drill is left behind."""

from __future__ import annotations

import os
import shlex

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from salvage.operator.install import install, manifests, uninstall
from tests.integration.engines.test_drills_real import CHECK, deploy_web
from tests.support.builders import namespace
from tests.support.operator import create, custom, filesystem_location, status
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

OPERATOR_NS = "salvage-drills"


def _operator_pod(kube: KubeClient) -> str:
    pods = wait_for(lambda: [p for p in kube.list(f"/api/v1/namespaces/{OPERATOR_NS}/pods",
                                                   labelSelector="app.kubernetes.io/name=salvage")
                             if not p["metadata"].get("deletionTimestamp")], timeout=60, what="operator pod")
    return str(pods[0]["metadata"]["name"])


def _samples(kube: KubeClient) -> dict[str, float]:
    scraped = kube.http.get(f"/api/v1/namespaces/{OPERATOR_NS}/services/salvage-metrics:metrics/proxy/metrics")
    assert scraped.status_code == 200, scraped.text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in scraped.text.splitlines()
            if line.startswith("salvage_drill_")}


def _drill_result(kube: KubeClient, name: str, result: str) -> dict:  # type: ignore[type-arg]
    return wait_for(lambda: (s := status(kube, OPERATOR_NS, "drills", name)).get("lastResult") == result and s,
                    timeout=240, what=f"drill {name} {result}")


def test_scheduled_drills_in_the_operators_pod(real_cluster: LocalCluster, real_kube: KubeClient,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    kube = real_kube
    store = str(tmp_path_factory.mktemp("drill-store"))
    install(kube, manifests(OPERATOR_NS, host_paths=(store,)))
    pod_ready(kube, OPERATOR_NS, _operator_pod(kube), timeout=120)

    app = f"drilled-{os.getpid()}"
    kube.create("/api/v1/namespaces", namespace(app))
    deploy_web(kube, app, replicas=1)

    create(kube, OPERATOR_NS, filesystem_location("node-dir", store))
    create(kube, OPERATOR_NS, custom("Backup", "web", {"includeNamespaces": [app]}))
    wait_for(lambda: status(kube, OPERATOR_NS, "backups", "web").get("phase") == "Completed", timeout=180,
             what="backup web Completed")
    checks = {"verifyCommand": shlex.split(CHECK), "timeoutSeconds": 180}
    create(kube, OPERATOR_NS, custom("Drill", "web-nightly", {"schedule": "*/20 * * * * *", "backupName": "web",
                                                              "checks": checks, "keepReports": 1}))
    passed = _drill_result(kube, "web-nightly", "Passed")
    kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/drills/web-nightly", {"spec": {"paused": True}})
    print(f"\nscheduled drill in the operator's pod: recovery time {passed['recoveryTimeSeconds']}s, "
          f"phases {passed['phases']}")
    assert passed["lastBackup"] == "web" and passed["failures"] == []
    assert set(passed["phases"]) == {"verify", "volumes", "objects", "readiness", "checks"}  # keys sorted by the API

    broken = {"verifyCommand": ["sh", "-c", "echo no rows; exit 3"], "timeoutSeconds": 180}
    create(kube, OPERATOR_NS, custom("Drill", "web-broken", {"schedule": "*/20 * * * * *", "backupName": "web",
                                                             "checks": broken}))
    failed = _drill_result(kube, "web-broken", "Failed")
    kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/drills/web-broken", {"spec": {"paused": True}})
    assert any("verify-command" in f and "/web-0" in f and "exit code 3" in f and "no rows" in f
               for f in failed["failures"]), failed

    wait_for(lambda: all(status(kube, OPERATOR_NS, "drills", n).get("phase") == "Paused"
                         for n in ("web-nightly", "web-broken")), timeout=300, what="drills paused")
    newest = status(kube, OPERATOR_NS, "drills", "web-nightly")  # a drill may have run before the pause
    samples = _samples(kube)
    assert samples['salvage_drill_last_success_timestamp_seconds{drill="web-nightly"}'] > 0
    assert samples['salvage_drill_recovery_time_seconds{drill="web-nightly"}'] == newest["recoveryTimeSeconds"]
    assert samples['salvage_drill_recovery_point_seconds{drill="web-nightly"}'] > 0
    assert samples['salvage_drill_recovery_seconds{drill="web-nightly",phase="readiness"}'] > 0
    assert samples['salvage_drill_failures_total{drill="web-broken"}'] >= 1
    assert samples['salvage_drill_last_failed{drill="web-broken"}'] == 1
    left = [n["metadata"]["name"] for n in kube.list("/api/v1/namespaces") if "-drill-" in n["metadata"]["name"]]
    assert left == []
    assert not [pv for pv in kube.list("/api/v1/persistentvolumes")
                if "-drill-" in ((pv["spec"].get("claimRef") or {}).get("namespace") or "")]
    uninstall(kube, OPERATOR_NS)
    kube.delete(f"/api/v1/namespaces/{app}")
