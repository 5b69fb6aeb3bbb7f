"""Seed 001's Ark flow through resources only, the operator in a real pod on the real node:
install, a BackupLocation (a hostPath directory of the node), a Backup of a namespace,
the namespace deleted, a Restore brings it back; a verb taken from the operator's role is
a clear error in the Restore's status; uninstall keeps the CRDs and the Backup objects."""

from __future__ import annotations

import json
import os
import time

import pytest

from salvage.devcluster.cluster import LocalCluster
from salvage.k8s.client import KubeClient
from salvage.operator.install import install, manifests, uninstall
from tests.support.builders import namespace, real_pod
from tests.support.operator import create, custom, filesystem_location, status
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

OPERATOR_NS = "salvage-system"
FINISHED = ("Completed", "PartiallyFailed", "Failed")


def _finished(kube: KubeClient, plural: str, name: str, timeout: float) -> dict:  # type: ignore[type-arg]
    return wait_for(lambda: status(kube, OPERATOR_NS, plural, name).get("phase") in FINISHED
                    and status(kube, OPERATOR_NS, plural, name), timeout=timeout, what=f"{plural} {name} finished")


def test_backup_and_restore_through_resources(real_cluster: LocalCluster, real_kube: KubeClient,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    kube = real_kube
    store = str(tmp_path_factory.mktemp("operator-store"))
    started = time.monotonic()
    install(kube, manifests(OPERATOR_NS, host_paths=(store,)))
    operator = wait_for(lambda: [p for p in kube.list(f"/api/v1/namespaces/{OPERATOR_NS}/pods")
                                 if p["metadata"]["name"].startswith("salvage-")], timeout=60, what="operator pod")
    pod_ready(kube, OPERATOR_NS, operator[0]["metadata"]["name"], timeout=120)
    ready_seconds = time.monotonic() - started

    app = f"ark-{os.getpid()}"
    kube.create("/api/v1/namespaces", namespace(app))
    kube.create(f"/api/v1/namespaces/{app}/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}})
    kube.create(f"/api/v1/namespaces/{app}/pods", real_pod("web", "sleep 3600"))
    pod_ready(kube, app, "web")

    create(kube, OPERATOR_NS, filesystem_location("node-dir", store))
    create(kube, OPERATOR_NS, custom("Backup", "ark", {"includeNamespaces": [app], "snapshotVolumes": False}))
    backup = _finished(kube, "backups", "ark", 120)
    assert backup["phase"] == "Completed", backup
    assert backup["items"] >= 3 and os.path.exists(f"{store}/backups/ark/manifest.json")
    assert status(kube, OPERATOR_NS, "backuplocations", "node-dir").get("phase") == "Available"

    kube.delete(f"/api/v1/namespaces/{app}")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{app}"), timeout=120, what="namespace deleted")
    create(kube, OPERATOR_NS, custom("Restore", "ark-back", {"backupName": "ark", "timeoutSeconds": 120}))
    restore = _finished(kube, "restores", "ark-back", 180)
    assert restore["phase"] == "Completed", restore
    assert kube.get(f"/api/v1/namespaces/{app}/configmaps/settings")["data"] == {"k": "v"}
    pod_ready(kube, app, "web")  # a real container again, on the real node
    print(f"operator ready in {ready_seconds:.0f}s after install")

    # /metrics of the operator's pod, through its Service (the API server's proxy).
    scraped = kube.http.get(f"/api/v1/namespaces/{OPERATOR_NS}/services/salvage-metrics:metrics/proxy/metrics")
    assert scraped.status_code == 200, scraped.text
    assert 'salvage_backup_success_total{schedule=""} 1.0' in scraped.text
    assert 'salvage_restore_success_total 1.0' in scraped.text
    assert 'salvage_location_available{location="node-dir"} 1.0' in scraped.text

    # The role is the operator's only power: without `create`, a restore fails and says why.
    role = kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/salvage")
    role["rules"] = [r for r in role["rules"] if r["verbs"] != ["create"]]
    kube.replace("/apis/rbac.authorization.k8s.io/v1/clusterroles/salvage", role)
    create(kube, OPERATOR_NS, custom("Restore", "no-create", {"backupName": "ark", "wait": False,
                                                              "namespaceMapping": {app: f"{app}-copy"}}))
    refused = _finished(kube, "restores", "no-create", 120)
    assert refused["phase"] in ("Failed", "PartiallyFailed"), refused
    assert "forbidden" in json.dumps(refused).lower(), refused

    uninstall(kube, OPERATOR_NS)
    wait_for(lambda: not kube.exists(f"/apis/apps/v1/namespaces/{OPERATOR_NS}/deployments/salvage"),
             timeout=60, what="operator removed")
    assert kube.exists("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/backups.salvage.io")
    assert status(kube, OPERATOR_NS, "backups", "ark")["phase"] == "Completed"
    kube.delete(f"/api/v1/namespaces/{app}")
