"""The scheduled form of database backups (issue 17), the operator in a real pod on the real
node: a Schedule of a namespace whose StatefulSet is annotated for the ``postgresql``
method makes Backups that hold its dumps (taken through exec from the operator's pod);
retention deletes the old backups and their dumps with them; the newest restores into a
scratch server with the row counts it recorded.

Why a namespace Backup picks the database up (and a Schedule does not name a method): the
method belongs to the workload, declared beside it by its annotations, so `backup create`,
the operator and `restore create` all agree without the Schedule's author knowing which
pod runs a database; and a restore brings the database back with its StatefulSet, Secret
and Service (the dumps go in once the restored server is Ready). A Schedule of only the
database narrows the template (includeNamespaces, labelSelector); `salvage db backup`
covers a dump without objects."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from salvage.catalog.reader import BackupReader, list_backups
from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images import builders as images
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.operator.install import install, manifests, uninstall
from salvage.repo.snapshots import list_snapshots
from salvage.volumes import location_repository
from tests.integration.engines.test_postgres import REPO, SETUP, deploy, ok, run_script
from tests.support.cli import salvage
from tests.support.operator import create, custom, filesystem_location, status
from tests.support.waiting import pod_ready, wait_for

pytestmark = pytest.mark.integration

OPERATOR_NS = "salvage-db"
SCHEDULE = "shop-db"
DONE = ("Completed", "PartiallyFailed", "Failed")


def _made(kube: KubeClient) -> list[dict]:  # type: ignore[type-arg]
    return list(kube.list(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/backups",
                          labelSelector=f"salvage.io/schedule={SCHEDULE}"))


def _phase(backup: dict) -> str:  # type: ignore[type-arg]
    return str((backup.get("status") or {}).get("phase") or "New")


def test_a_schedule_dumps_annotated_databases_and_retention_removes_old_dumps(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, salvage_home: Path) -> None:
    kube, ns = real_kube, real_ns
    store = salvage_home / "data" / "backups"  # the CLI's default location: the same directory
    store.mkdir(parents=True)
    install(kube, manifests(OPERATOR_NS, host_paths=(str(store),)))
    try:
        pods = wait_for(lambda: list(kube.list(f"/api/v1/namespaces/{OPERATOR_NS}/pods",
                                               labelSelector="app.kubernetes.io/name=salvage")), timeout=60,
                        what="the operator's pod")
        pod_ready(kube, OPERATOR_NS, pods[0]["metadata"]["name"], timeout=180)
        deploy(kube, ns)
        run_script(kube, ns, SETUP)
        password = base64.b64encode(REPO["SALVAGE_REPO_PASSWORD"].encode()).decode()
        kube.create(f"/api/v1/namespaces/{OPERATOR_NS}/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo"}, "data": {"password": password}})
        create(kube, OPERATOR_NS, filesystem_location("node-dir", str(store)))
        create(kube, OPERATOR_NS, custom("Schedule", SCHEDULE, {
            "schedule": "*/8 * * * * *", "retention": {"keepLast": 2},
            "template": {"includeNamespaces": [ns], "repoPasswordSecret": {"name": "repo", "key": "password"}}}))

        # Backups are made, and retention deletes the oldest from the location and the cluster.
        seen: set[str] = set()
        state: dict[str, object] = {}

        def pruned() -> bool:
            made = _made(kube)
            failed = [b for b in made if _phase(b) in ("Failed", "PartiallyFailed")]
            assert not failed, failed[0].get("status")
            seen.update(b["metadata"]["name"] for b in made)
            oldest = min(seen, default="")
            on_location = {b.name for b in list_backups(open_location(None).store)}
            state.update(phases={b["metadata"]["name"]: _phase(b) for b in made}, on_location=sorted(on_location),
                         schedule=status(kube, OPERATOR_NS, "schedules", SCHEDULE))
            return len(seen) >= 4 and oldest not in on_location and oldest not in {
                b["metadata"]["name"] for b in made}

        try:
            # A backup of the namespace took tens of seconds on the loaded shared machine.
            wait_for(pruned, timeout=600, interval=1, what="4 scheduled backups, the oldest deleted by retention")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; seen {sorted(seen)}; last state {state}") from None
        kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{OPERATOR_NS}/schedules/{SCHEDULE}",
                   {"spec": {"paused": True}})
        wait_for(lambda: status(kube, OPERATOR_NS, "schedules", SCHEDULE).get("phase") == "Paused"
                 and all(_phase(b) in DONE for b in _made(kube)), timeout=120, what="the schedule paused, idle")
        made = _made(kube)
        assert made and all(_phase(b) == "Completed" and b["status"]["volumes"] == 1 for b in made), made

        # Each backup on the location holds the database's dump; the pruned ones' dumps are gone.
        location = open_location(None)
        handles = {}
        for summary in list_backups(location.store):
            [volume] = BackupReader(location.store, summary.name).volumes()
            assert volume["method"] == "postgresql", volume
            tables = {d["name"]: d["tables"] for d in volume["database"]["databases"]}  # type: ignore[index]
            assert tables["shop"]["public.orders"] == 50000
            handles[summary.name] = volume["snapshotHandle"]
        assert set(handles) == {b["metadata"]["name"] for b in made}
        repository = location_repository.repository(location.store, REPO["SALVAGE_REPO_PASSWORD"], create=False)
        assert {s.id for s in list_snapshots(repository)} == set(handles.values()), \
            "retention forgot the dumps of the backups it deleted"

        newest = max(handles)
        verified = json.loads(ok(salvage(real_cluster.kubeconfig, "-o", "json", "db", "verify", newest,
                                         "--image", images.POSTGRES.ref, env=REPO)).stdout)
        assert verified["tables"] and all(t["result"] == "ok" for t in verified["tables"]), verified
    finally:
        uninstall(kube, OPERATOR_NS, delete_namespace=True)
