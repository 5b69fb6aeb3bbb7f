"""A running Restore's progress on a kwok cluster, the operator in a thread: its status
shows the objects done so far while it runs, written a few times (once per interval at
most, not once per object), the final counts when it ends; the metrics count the same
objects; a Backup keeps its final progress too."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from salvage.k8s.watch import changes
from salvage.model.errors import KubernetesError
from salvage.operator.crds import collection
from tests.support.builders import namespace
from tests.support.operator import create, custom, filesystem_location, install_crds, operator_thread, status
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

OBJECTS = 1500
INTERVAL = 0.5
FINISHED = ("Completed", "PartiallyFailed", "Failed")


def _recorded(kube, path: str, name: str, stop: threading.Event, seen: list[tuple[float, dict[str, Any]]]) -> None:  # type: ignore[no-untyped-def]
    try:
        for _kind, obj in changes(kube, path, stop, timeout_seconds=60):
            if obj["metadata"]["name"] == name:
                seen.append((time.monotonic(), obj.get("status") or {}))
    except KubernetesError:
        if not stop.is_set():
            raise  # the watch broke while it still mattered


def test_a_restore_shows_its_progress_while_it_runs(cluster, kube, ns, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-many"
    kube.create("/api/v1/namespaces", namespace(app))
    for i in range(OBJECTS):
        kube.create(f"/api/v1/namespaces/{app}/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:04d}"}, "data": {"i": str(i)}})
    create(kube, ns, filesystem_location("local", str(tmp_path / "store")))

    with operator_thread(cluster, ns, "progress", progress_seconds=INTERVAL) as ctl:
        create(kube, ns, custom("Backup", "many", {"includeNamespaces": [app], "snapshotVolumes": False}))
        backup = wait_for(lambda: status(kube, ns, "backups", "many").get("phase") in FINISHED
                          and status(kube, ns, "backups", "many"), timeout=120, what="backup finished")
        assert backup["phase"] == "Completed", backup
        assert backup["progress"]["items"] == backup["items"] >= OBJECTS, backup["progress"]
        assert backup["resourceCounts"]["configmaps"] == OBJECTS + 1, backup["resourceCounts"]  # + kube-root-ca.crt

        seen: list[tuple[float, dict[str, Any]]] = []
        stop = threading.Event()
        recorder = threading.Thread(target=_recorded, args=(kube, collection("restores", ns), "many-back", stop, seen),
                                    daemon=True)
        recorder.start()
        try:
            create(kube, ns, custom("Restore", "many-back", {"backupName": "many", "wait": False,
                                                             "includeResources": ["configmaps"],
                                                             "namespaceMapping": {app: f"{app}-copy"}}))
            restore = wait_for(lambda: status(kube, ns, "restores", "many-back").get("phase") in FINISHED
                               and status(kube, ns, "restores", "many-back"), timeout=300, what="restore finished")
        finally:
            stop.set()
        assert restore["phase"] == "Completed", restore
        running = [(t, s) for t, s in seen if s.get("phase") == "InProgress" and s.get("progress")]
        partial = [s["progress"]["items"] for _t, s in running if 0 < s["progress"]["items"] < OBJECTS]
        assert partial, f"progress seen while it ran: {[s.get('progress') for _t, s in seen]}"
        assert partial == sorted(partial), "it only goes up"
        assert running[-1][1]["counts"]["created"] >= partial[-1] - 1  # the namespace is an item too
        started = next(t for t, s in seen if s.get("phase") == "InProgress")
        ended = next(t for t, s in seen if s.get("phase") in FINISHED)
        assert len(running) <= (ended - started) / INTERVAL + 2, \
            f"{len(running)} progress writes in {ended - started:.1f}s: throttled to one per {INTERVAL}s"
        print(f"restore of {OBJECTS} objects: {ended - started:.1f}s, {len(running)} progress writes")
        final = restore["progress"]
        # every configmap and the namespace created; kube-root-ca.crt skipped
        assert restore["counts"]["created"] == OBJECTS + 1 and final["items"] == sum(restore["counts"].values()), \
            restore
        assert restore["resourceCounts"]["configmaps"] == {"created": OBJECTS, "skipped": 1}, restore["resourceCounts"]
        sample = ctl.ctx.metrics.registry.get_sample_value
        assert sample("salvage_restore_items_total", {"action": "created"}) == OBJECTS + 1
        assert sample("salvage_backup_items_total", {"schedule": ""}) == backup["items"]
        assert sample("salvage_restores_in_progress", {}) == 0 and sample("salvage_backups_in_progress",
                                                                          {"schedule": ""}) == 0
    for name in (app, f"{app}-copy"):
        kube.delete(f"/api/v1/namespaces/{name}")
