"""Drill resources on a kwok cluster, the operator in a thread: a seconds-level Drill of a
backup passes on schedule, keeps only its newest reports and sets its metrics; a Drill of a
Schedule with no Completed backup fails naming why, and counts the failure; a failing
check fails the drill naming it; a bad cron is Invalid; the API server refuses a Drill
naming both a backup and a schedule, and keeps what `salvage drill create` writes field for
field; a damaged backup and a volume altered after its digest was recorded each fail their
drill, named, on the metrics. Nothing of a drill is left behind, even by an operator killed
mid-drill: the next one removes its scratch namespaces and fails that drill, naming them."""

from __future__ import annotations

import json
import os

import pytest

from salvage.catalog import layout
from salvage.engines.drill import list_drills
from salvage.engines.drill_scratch import list_scratch
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from salvage.model.errors import KubernetesError
from tests.support.builders import namespace, never_ready_deployment
from tests.support.cli import salvage
from tests.support.damage import damage
from tests.support.operator import (
    create, custom, filesystem_location, install_crds, operator_process, operator_thread, status,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _drill(name: str, cron: str, **spec: object) -> dict:  # type: ignore[type-arg]
    return custom("Drill", name, {"schedule": cron, **spec})


def test_drills(cluster, kube: KubeClient, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-app"
    kube.create("/api/v1/namespaces", namespace(app))
    kube.create(f"/api/v1/namespaces/{app}/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    store = tmp_path / "data" / "backups"
    create(kube, ns, filesystem_location("local", str(store)))
    create(kube, ns, custom("Backup", "app", {"includeNamespaces": [app], "snapshotVolumes": False}))
    with pytest.raises(KubernetesError, match="exactly one of backupName and scheduleName"):
        create(kube, ns, _drill("both", "* * * * *", backupName="app", scheduleName="s"))

    with operator_thread(cluster, ns, "driller") as ctl:
        wait_for(lambda: status(kube, ns, "backups", "app").get("phase") == "Completed", timeout=60,
                 what="backup app Completed")
        create(kube, ns, _drill("often", "*/3 * * * * *", backupName="app", keepReports=2))
        create(kube, ns, _drill("orphan", "*/3 * * * * *", scheduleName="nobody"))
        create(kube, ns, _drill("checked", "*/3 * * * * *", backupName="app",
                                checks={"verifyCommand": ["true"], "timeoutSeconds": 30}))
        create(kube, ns, _drill("bad", "61 * * * *", backupName="app"))
        sample = ctl.ctx.metrics.registry.get_sample_value

        passed = wait_for(lambda: (s := status(kube, ns, "drills", "often")).get("lastResult") == "Passed"
                          and int(sample("salvage_drill_attempts_total", {"drill": "often"}) or 0) >= 3 and s,
                          timeout=90, what="three drills of often")
        assert passed["lastBackup"] == "app" and passed["recoveryTimeSeconds"] > 0
        assert set(passed["phases"]) == {"verify", "volumes", "objects", "readiness", "checks"}  # keys sorted by the API
        location = open_location(LocationSpec("local", "filesystem", str(store)))
        kept = [r for r in list_drills(location) if r.get("owner") == f"Drill {ns}/often"]
        assert 1 <= len(kept) <= 2, [r["name"] for r in kept]  # keepReports (a third may be being written)
        assert all(r["phase"] == "Passed" and r["name"].startswith("often-") for r in kept)
        assert sample("salvage_drill_last_success_timestamp_seconds", {"drill": "often"}) > 0
        assert sample("salvage_drill_recovery_time_seconds", {"drill": "often"}) > 0
        assert sample("salvage_drill_recovery_seconds", {"drill": "often", "phase": "objects"}) is not None
        assert sample("salvage_drill_last_failed", {"drill": "often"}) == 0

        orphan = wait_for(lambda: (s := status(kube, ns, "drills", "orphan")).get("lastResult") == "Failed" and s,
                          timeout=30, what="orphan failed")
        assert "Schedule 'nobody' has no Completed backup" in orphan["reason"], orphan
        assert sample("salvage_drill_failures_total", {"drill": "orphan"}) >= 1
        assert sample("salvage_drill_last_failed", {"drill": "orphan"}) == 1

        checked = wait_for(lambda: (s := status(kube, ns, "drills", "checked")).get("lastResult") == "Failed" and s,
                           timeout=60, what="checked failed")
        assert any("verify-command" in f and "no Running pod" in f for f in checked["failures"]), checked
        assert checked["consecutiveFailures"] >= 1 and "recoveryTimeSeconds" not in checked

        bad = status(kube, ns, "drills", "bad")
        assert bad["phase"] == "Invalid" and "minute" in bad["reason"], bad
        for name in ("often", "orphan", "checked"):
            kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/drills/{name}", {"spec": {"paused": True}})
        wait_for(lambda: all(status(kube, ns, "drills", n).get("phase") == "Paused"
                             for n in ("often", "orphan", "checked")), timeout=60, what="drills paused")
    wait_for(lambda: not [n for n in kube.list("/api/v1/namespaces") if n["metadata"]["name"].startswith(f"{app}-drill-")],
             timeout=60, what="no scratch namespace left")
    kube.delete(f"/api/v1/namespaces/{app}")


def test_drill_create_writes_what_the_api_server_accepts_and_delete_removes_it(
        cluster, kube: KubeClient, ns: str) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    args = ["drill", "create", "nightly", "--schedule", "30 4 * * *", "--time-zone", "Europe/Berlin",
            "--backup-schedule", "shop-daily", "--verify-command", "sh -c 'test -s /data/x'",
            "--verify-selector", "app=pg", "--timeout", "120", "--keep-reports", "3",
            "--repo-password-secret", "repo", "-n", ns]
    planned = salvage(cluster.kubeconfig, "-o", "json", *args, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    made = salvage(cluster.kubeconfig, *args)
    assert made.returncode == 0, made.stderr
    stored = kube.get(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/drills/nightly")
    assert stored["spec"] == json.loads(planned.stdout)["spec"], "the API server kept every field as written"

    missing = salvage(cluster.kubeconfig, *args[:-1], f"{ns}-nope")
    assert missing.returncode == 2 and f"Namespace '{ns}-nope' does not exist" in missing.stderr, missing.stderr
    assert salvage(cluster.kubeconfig, "drill", "delete", "nightly", "-n", ns).returncode == 0
    assert not kube.exists(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/drills/nightly")


def test_a_damaged_backup_and_a_silently_altered_volume_fail_their_drills_and_the_metric_shows_it(
        cluster, kube: KubeClient, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.engines import workload
    from tests.integration.engines.test_drills import PASSWORD, _replace_stored_bytes

    install_crds(kube)
    app = f"{ns}-pg"
    kube.create("/api/v1/namespaces", namespace(app))
    workload.deploy(kube, app)  # seed 001's StatefulSet, its volume on a kwok node (read directly)
    kube.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo"},
        "stringData": {"password": PASSWORD}})
    secret = {"name": "repo", "key": "password"}
    store = tmp_path / "data" / "backups"
    create(kube, ns, filesystem_location("local", str(store)))
    location = open_location(LocationSpec("local", "filesystem", str(store)))
    for name in ("files", "objects"):
        create(kube, ns, custom("Backup", name, {"includeNamespaces": [app], "defaultVolumesToFsBackup": True,
                                                 "repoPasswordSecret": secret}))
    with operator_thread(cluster, ns, "checker") as ctl:
        for name in ("files", "objects"):  # both at once into a new location: one creates its repository
            done = wait_for(lambda n=name: (s := status(kube, ns, "backups", n)).get("phase") in
                            ("Completed", "PartiallyFailed", "Failed") and s, timeout=120, what=f"backup {name} done")
            assert done["phase"] == "Completed", done
        _replace_stored_bytes(location.store, "files", ["base", "16384", "1259"], os.urandom(256 * 1024))
        [statefulsets] = [k.key for k in location.store.list(layout.prefix("objects")) if "/statefulsets." in k.key]
        with damage(location.store, statefulsets, "flip"):
            for name in ("files", "objects"):
                create(kube, ns, _drill(f"{name}-drill", "*/3 * * * * *", backupName=name,
                                        repoPasswordSecret=secret, checks={"timeoutSeconds": 60}))
            altered = wait_for(lambda: (s := status(kube, ns, "drills", "files-drill")).get("lastResult") and s,
                               timeout=120, what="files-drill ran")
            damaged = wait_for(lambda: (s := status(kube, ns, "drills", "objects-drill")).get("lastResult") and s,
                               timeout=120, what="objects-drill ran")
            for name in ("files-drill", "objects-drill"):
                kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/drills/{name}", {"spec": {"paused": True}})
            wait_for(lambda: all(status(kube, ns, "drills", n).get("phase") == "Paused"
                                 for n in ("files-drill", "objects-drill")), timeout=120, what="drills paused")
        assert altered["lastResult"] == "Failed", altered
        assert any("volume-digest" in f and "/base/16384/1259: content differs" in f for f in altered["failures"])
        assert damaged["lastResult"] == "Failed", damaged
        assert any("statefulsets" in f and "checksum" in f for f in damaged["failures"]), damaged
        sample = ctl.ctx.metrics.registry.get_sample_value
        for name in ("files-drill", "objects-drill"):
            assert sample("salvage_drill_failures_total", {"drill": name}) >= 1
            assert sample("salvage_drill_last_failed", {"drill": name}) == 1
    assert not [n for n in kube.list("/api/v1/namespaces") if n["metadata"]["name"].startswith(f"{app}-drill-")]
    kube.delete(f"/api/v1/namespaces/{app}")


def test_an_operator_killed_mid_drill_leaves_namespaces_that_the_next_one_removes_failing_that_drill(
        cluster, kube: KubeClient, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-stuck"
    kube.create("/api/v1/namespaces", namespace(app))
    kube.create(f"/apis/apps/v1/namespaces/{app}/deployments", never_ready_deployment("web"))
    create(kube, ns, filesystem_location("local", str(tmp_path / "data" / "backups")))
    create(kube, ns, custom("Backup", "stuck", {"includeNamespaces": [app], "snapshotVolumes": False}))
    owner = f"Drill {ns}/slow"
    with operator_process(cluster, ns, tmp_path / "operator.log") as killed:
        wait_for(lambda: status(kube, ns, "backups", "stuck").get("phase") == "Completed", timeout=120,
                 what="backup stuck Completed")
        create(kube, ns, _drill("slow", "*/3 * * * * *", backupName="stuck", checks={"timeoutSeconds": 600}))
        [left] = wait_for(lambda: [s for s in list_scratch(kube) if s.owner == owner], timeout=120,
                          what="the drill's scratch namespace")
        wait_for(lambda: kube.list(f"/apis/apps/v1/namespaces/{left.namespace}/deployments"), timeout=60,
                 what="the drill restoring into it")
        killed.kill()  # SIGKILL, mid-drill: its Deployment is never ready
        killed.wait(timeout=30)
    kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/drills/slow", {"spec": {"paused": True}})
    assert left.namespace.startswith(f"{app}-drill-") and left.backup == "stuck"
    assert kube.exists(f"/api/v1/namespaces/{left.namespace}"), "nothing cleaned it up"
    assert status(kube, ns, "drills", "slow").get("lastResult") is None

    with operator_thread(cluster, ns, "successor") as ctl:
        settled = wait_for(lambda: (s := status(kube, ns, "drills", "slow")).get("lastResult") and s, timeout=120,
                           what="the interrupted drill settled")
        wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{left.namespace}"), timeout=120,
                 what=f"namespace {left.namespace} removed")
        failures = ctl.ctx.metrics.registry.get_sample_value("salvage_drill_failures_total", {"drill": "slow"})
    assert settled["lastResult"] == "Failed" and settled["lastDrill"] == left.drill, settled
    assert f"Drill run {left.drill} was interrupted" in settled["reason"], settled
    assert left.runner in settled["reason"] and f"namespaces {left.namespace} were removed" in settled["reason"]
    assert settled["failures"] == [f"interrupted: namespace {left.namespace} removed"]
    assert failures == 1
    assert [s.namespace for s in list_scratch(kube) if s.owner == owner] == []
    kube.delete(f"/api/v1/namespaces/{app}")
