"""Seed 001's Ark flow through resources only, the operator in a real pod on the real node:
install, a BackupLocation (a hostPath directory of the node), a Backup of a namespace,
the namespace deleted, a Restore brings it back; a Schedule fires, time zones shift the next
run, Forbid skips runs while one still runs; the operator's pod
killed mid-backup leaves it Failed with the reason; /metrics answers through its Service;
a verb taken from the operator's role is a clear error in the Restore's status; uninstall
keeps the CRDs and the Backup objects."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from zoneinfo import ZoneInfo

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from salvage.operator.install import install, manifests, uninstall
from tests.support.builders import namespace, real_pod
from tests.support.operator import create, custom, filesystem_location, status, stuck_claim
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

OPERATOR_NS = "salvage-system"
FINISHED = ("Completed", "PartiallyFailed", "Failed")


def _finished(kube: KubeClient, plural: str, name: str, timeout: float) -> dict:  # type: ignore[type-arg]
    return wait_for(lambda: status(kube, OPERATOR_NS, plural, name).get("phase") in FINISHED
                    and status(kube, OPERATOR_NS, plural, name), timeout=timeout, what=f"{plural} {name} finished")


def _operator_pod(kube: KubeClient) -> str:
    pods = wait_for(lambda: [p for p in kube.list(f"/api/v1/namespaces/{OPERATOR_NS}/pods",
                                                   labelSelector="app.kubernetes.io/name=salvage")
                             if not p["metadata"].get("deletionTimestamp")], timeout=60, what="operator pod")
    return str(pods[0]["metadata"]["name"])


def _scrape(kube: KubeClient) -> str:
    scraped = kube.http.get(f"/api/v1/namespaces/{OPERATOR_NS}/services/salvage-metrics:metrics/proxy/metrics")
    assert scraped.status_code == 200, scraped.text
    return scraped.text


def _metric(kube: KubeClient, sample: str) -> float:
    line = next(line for line in _scrape(kube).splitlines() if line.startswith(sample + " "))
    return float(line.split()[-1])


def _pod_memory(kube: KubeClient) -> int:
    """The operator pod's working set, from the kubelet's summary (through the API server)."""
    node = kube.get(f"/api/v1/namespaces/{OPERATOR_NS}/pods/{_operator_pod(kube)}")["spec"]["nodeName"]

    def measured() -> int:
        pods = kube.get(f"/api/v1/nodes/{node}/proxy/stats/summary").get("pods") or []
        return next((int(p["memory"].get("workingSetBytes") or 0) for p in pods
                     if p["podRef"]["namespace"] == OPERATOR_NS and p.get("memory")), 0)

    return wait_for(measured, timeout=60, what="the operator pod in the kubelet's summary")


def _schedule_backups(kube: KubeClient, schedule: str) -> list[dict]:  # type: ignore[type-arg]
    return list(kube.list(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/backups",
                          labelSelector=f"salvage.io/schedule={schedule}"))


def test_backup_and_restore_through_resources(real_cluster: LocalCluster, real_kube: KubeClient,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    kube = real_kube
    store = str(tmp_path_factory.mktemp("operator-store"))
    started = time.monotonic()
    install(kube, manifests(OPERATOR_NS, host_paths=(store,)))
    pod_ready(kube, OPERATOR_NS, _operator_pod(kube), timeout=120)
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
    # Its progress, kept final in its status, and the metrics, counted from the same events.
    assert backup["progress"]["items"] == backup["items"] and backup["progress"]["resources"] >= 3, backup
    assert _metric(kube, 'salvage_backup_items_total{schedule=""}') == backup["items"]
    assert _metric(kube, 'salvage_backups_in_progress{schedule=""}') == 0
    assert status(kube, OPERATOR_NS, "backuplocations", "node-dir").get("phase") == "Available"

    kube.delete(f"/api/v1/namespaces/{app}")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{app}"), timeout=120, what="namespace deleted")
    create(kube, OPERATOR_NS, custom("Restore", "ark-back", {"backupName": "ark", "timeoutSeconds": 120}))
    restore = _finished(kube, "restores", "ark-back", 180)
    assert restore["phase"] == "Completed", restore
    assert kube.get(f"/api/v1/namespaces/{app}/configmaps/settings")["data"] == {"k": "v"}
    pod_ready(kube, app, "web")  # a real container again, on the real node
    print(f"operator ready in {ready_seconds:.0f}s after install")

    # A Schedule firing every 5 s makes backups on time; retention keeps the newest 2.
    create(kube, OPERATOR_NS, custom("Schedule", "often", {
        "schedule": "*/5 * * * * *", "retention": {"keepLast": 2},
        "template": {"includeNamespaces": [app], "snapshotVolumes": False}}))
    wait_for(lambda: len([b for b in _schedule_backups(kube, "often")
                          if (b.get("status") or {}).get("phase") == "Completed"]) >= 2,
             timeout=60, what="two scheduled backups Completed")
    kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/schedules/often", {"spec": {"paused": True}})
    delay = _metric(kube, 'salvage_schedule_delay_seconds_sum{schedule="often"}') / \
        _metric(kube, 'salvage_schedule_delay_seconds_count{schedule="often"}')
    print(f"firing delay of a */5 s schedule in the operator's pod: {delay * 1000:.0f} ms (mean)")
    assert delay < 2
    wait_for(lambda: status(kube, OPERATOR_NS, "schedules", "often").get("phase") == "Paused", timeout=30,
             what="schedule paused")

    # Time zones from the image's own zone data: 03:00 in Tokyo is 18:00 UTC, in New York
    # (EST in December, EDT in summer) 08:00 or 07:00 UTC.
    template = {"includeNamespaces": [app], "snapshotVolumes": False}
    for name, zone in (("tokyo", "Asia/Tokyo"), ("new-york", "America/New_York"), ("utc", "UTC")):
        create(kube, OPERATOR_NS, custom("Schedule", name, {"schedule": "0 3 * * *", "timeZone": zone,
                                                            "template": template}))
    next_runs = {name: wait_for(lambda n=name: status(kube, OPERATOR_NS, "schedules", n).get("nextRun"), timeout=30,
                                what=f"{name}'s next run") for name in ("tokyo", "new-york", "utc")}
    hours = {name: dt.datetime.fromisoformat(text.replace("Z", "+00:00")) for name, text in next_runs.items()}
    new_york = hours["new-york"].astimezone(ZoneInfo("America/New_York"))
    assert (hours["tokyo"].hour, hours["utc"].hour, new_york.hour) == (18, 3, 3), next_runs
    assert hours["new-york"].hour in (7, 8), next_runs

    # Forbid, in the pod: a schedule firing every second whose backup never ends (its claim's
    # snapshot never gets ready) makes one backup and counts the other runs as missed.
    stuck = f"{app}-stuck"
    kube.create("/api/v1/namespaces", namespace(stuck))
    stuck_claim(kube, stuck, "data")
    create(kube, OPERATOR_NS, custom("Schedule", "forbid", {
        "schedule": "* * * * * *", "template": {"includeNamespaces": [stuck], "snapshotTimeoutSeconds": 300}}))
    forbid = wait_for(lambda: (f := status(kube, OPERATOR_NS, "schedules", "forbid")).get("missedRuns", 0) >= 3 and f,
                      timeout=60, what="forbid skipped runs")
    assert len(_schedule_backups(kube, "forbid")) == 1, "Forbid: never two backups of one schedule at once"
    assert "still running" in forbid["reason"], forbid
    assert 'salvage_schedule_expected_interval_seconds{schedule="forbid"} 1.0' in _scrape(kube)
    kube.delete(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/schedules/forbid")
    # A deleted or paused schedule is never stale: its interval is no longer exported.
    wait_for(lambda: 'salvage_schedule_expected_interval_seconds{schedule="forbid"}' not in _scrape(kube),
             timeout=30, what="forbid's interval gone")
    scraped = _scrape(kube)
    assert 'salvage_schedule_expected_interval_seconds{schedule="often"}' not in scraped
    assert 'salvage_schedule_expected_interval_seconds{schedule="tokyo"} 86400.0' in scraped

    # The operator's pod killed while a backup waits for a snapshot that never gets ready:
    # the Deployment's next pod fails the backup with the reason.
    create(kube, OPERATOR_NS, custom("Backup", "killed", {"includeNamespaces": [stuck],
                                                          "snapshotTimeoutSeconds": 300}))
    wait_for(lambda: status(kube, OPERATOR_NS, "backups", "killed").get("phase") == "InProgress"
             and len(list(kube.list(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{stuck}/volumesnapshots"))) >= 2,
             timeout=60, what="backup waiting for its snapshot")
    old = _operator_pod(kube)
    kube.delete(f"/api/v1/namespaces/{OPERATOR_NS}/pods/{old}", gracePeriodSeconds=0)
    killed_at = time.monotonic()
    killed = _finished(kube, "backups", "killed", 120)
    print(f"backup settled {time.monotonic() - killed_at:.0f}s after its operator's pod was killed")
    assert killed["phase"] == "Failed" and "stopped before it finished" in killed["reason"], killed
    forbidden = _schedule_backups(kube, "forbid")[0]["metadata"]["name"]  # orphaned by the same kill
    assert _finished(kube, "backups", forbidden, 60)["phase"] == "Failed"
    assert not os.path.exists(f"{store}/backups/killed/manifest.json")
    pod_ready(kube, OPERATOR_NS, _operator_pod(kube), timeout=120)

    # /metrics of the operator's pod, through its Service (the API server's proxy).
    scraped = _scrape(kube)
    # (the new pod: its counters start at 0, the last success comes back from the objects)
    assert 'salvage_backup_last_success_timestamp_seconds{schedule="often"}' in scraped
    assert 'salvage_location_available{location="node-dir"} 1.0' in scraped

    print(f"operator pod memory (working set, after settling one backup): {_pod_memory(kube) / 2**20:.0f} MiB")

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
    for name in (app, stuck):
        kube.delete(f"/api/v1/namespaces/{name}")
