"""The operator out of the cluster (a thread) on a kwok cluster: Backup, Restore,
BackupLocation availability and sync, an orphaned InProgress backup, and two replicas."""

from __future__ import annotations

import contextlib

import pytest

from salvage.engines.backup import BackupRequest, create_backup
from salvage.engines.selection import Selection
from salvage.locations import open_location
from salvage.locations.config import LocationSpec
from tests.support.builders import namespace
from tests.support.cli import salvage
from tests.support.operator import (
    create, custom, filesystem_location, install_crds, operator_process, operator_thread, status, stuck_claim,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _configmap(name: str) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def test_backup_restore_sync_and_orphans(cluster, kube, ns, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-app"
    kube.create("/api/v1/namespaces", namespace(app))
    kube.create(f"/api/v1/namespaces/{app}/configmaps", _configmap("settings"))
    store = tmp_path / "store"
    create(kube, ns, filesystem_location("local", str(store)))
    # An InProgress backup whose operator is gone, with nothing on the location.
    orphan = create(kube, ns, custom("Backup", "orphan", {"includeNamespaces": [app]}))
    kube.patch(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/backups/orphan/status",
               {"status": {"phase": "InProgress", "operator": "gone-0", "location": "local"}})
    assert orphan

    with operator_thread(cluster, ns, "op-a") as ctl:
        create(kube, ns, custom("Backup", "first", {"includeNamespaces": [app], "snapshotVolumes": False,
                                                    "ttl": "720h"}))
        done = wait_for(lambda: status(kube, ns, "backups", "first").get("phase") in
                        ("Completed", "PartiallyFailed", "Failed") and status(kube, ns, "backups", "first"),
                        timeout=60, what="backup first finished")
        assert done["phase"] == "Completed", done
        assert done["items"] >= 2 and done["location"] == "local" and done["expires"]
        assert (store / "backups" / "first" / "manifest.json").exists()

        # The CLI hands a backup to the operator and returns.
        handed = salvage(cluster.kubeconfig, "backup", "create", "handed", "--include-namespaces", app,
                         "--no-snapshot-volumes", "--async", "--operator-namespace", ns)
        assert handed.returncode == 0 and handed.stdout.strip() == "handed", handed.stderr
        wait_for(lambda: status(kube, ns, "backups", "handed").get("phase") == "Completed", timeout=60,
                 what="handed backup Completed")

        failed = wait_for(lambda: status(kube, ns, "backups", "orphan").get("phase") == "Failed"
                          and status(kube, ns, "backups", "orphan"), timeout=30, what="orphan settled")
        assert "stopped before it finished" in failed["reason"]

        located = wait_for(lambda: status(kube, ns, "backuplocations", "local").get("phase")
                           and status(kube, ns, "backuplocations", "local"), timeout=30, what="location checked")
        assert located["phase"] == "Available", located

        # A backup written by someone else (another cluster, the CLI) is synced into an object.
        create_backup(kube, open_location(LocationSpec("local", "filesystem", str(store))),
                      BackupRequest("elsewhere", Selection((app,)), snapshot_volumes=False))
        synced = wait_for(lambda: status(kube, ns, "backups", "elsewhere").get("synced")
                          and status(kube, ns, "backups", "elsewhere"), timeout=30, what="backup synced")
        assert synced["phase"] == "Completed"

        kube.delete(f"/api/v1/namespaces/{app}")
        wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{app}"), timeout=60, what="namespace deleted")
        create(kube, ns, custom("Restore", "back", {"backupName": "first", "wait": False}))
        restored = wait_for(lambda: status(kube, ns, "restores", "back").get("phase") in
                            ("Completed", "PartiallyFailed", "Failed") and status(kube, ns, "restores", "back"),
                            timeout=60, what="restore finished")
        assert restored["phase"] == "Completed", restored
        assert kube.get(f"/api/v1/namespaces/{app}/configmaps/settings")["data"] == {"k": "v"}

        sample = ctl.ctx.metrics.registry.get_sample_value
        assert sample("salvage_backup_success_total", {"schedule": ""}) == 2  # first, handed
        assert sample("salvage_backup_items_total", {"schedule": ""}) == 2 * done["items"]
        assert sample("salvage_backup_last_success_timestamp_seconds", {"schedule": ""}) > 0
        assert sample("salvage_restore_success_total") == 1
        assert sample("salvage_location_available", {"location": "local"}) == 1

    unavailable = create(kube, ns, filesystem_location("gone", str(tmp_path / "file"), default=False))
    (tmp_path / "file").write_text("not a directory")
    with operator_thread(cluster, ns, "op-b"):
        checked = wait_for(lambda: status(kube, ns, "backuplocations", "gone").get("phase")
                           and status(kube, ns, "backuplocations", "gone"), timeout=30, what="location checked")
        assert checked["phase"] == "Unavailable" and checked["reason"], checked
    assert unavailable
    kube.delete(f"/api/v1/namespaces/{app}")


def test_two_replicas_one_leads(cluster, kube, ns) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    with contextlib.ExitStack() as second_stack:
        with operator_thread(cluster, ns, "first") as first:
            wait_for(first.leading.is_set, timeout=15, what="first replica leads")
            second = second_stack.enter_context(operator_thread(cluster, ns, "second"))
            # Over two lease durations: the standby never takes over a lease that is renewed.
            assert not second.leading.wait(7)
            lease = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/salvage-operator")
            assert lease["spec"]["holderIdentity"] == "first"
        # The leader stopped (and released its lease): the standby takes over.
        wait_for(second.leading.is_set, timeout=15, what="the standby leads after the leader stopped")
        lease = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/salvage-operator")
        assert lease["spec"]["holderIdentity"] == "second" and lease["spec"]["leaseTransitions"] >= 1


def test_operator_killed_during_a_backup(cluster, kube, ns, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-db"
    kube.create("/api/v1/namespaces", namespace(app))
    stuck_claim(kube, app, "data")
    create(kube, ns, filesystem_location("local", str(tmp_path / "store")))
    log = tmp_path / "operator.log"
    with operator_process(cluster, ns, log) as first:
        wait_for(lambda: kube.exists(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/salvage-operator")
                 and status(kube, ns, "backuplocations", "local").get("phase"), timeout=30, what="operator leads")
        rss = next(int(line.split()[1]) for line in open(f"/proc/{first.pid}/status") if line.startswith("VmRSS:"))
        print(f"operator process leading, idle: {rss / 1024:.0f} MiB resident")
        create(kube, ns, custom("Backup", "killed", {"includeNamespaces": [app], "snapshotTimeoutSeconds": 120}))
        wait_for(lambda: status(kube, ns, "backups", "killed").get("phase") == "InProgress"
                 and list(kube.list(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{app}/volumesnapshots")),
                 timeout=60, what="backup waiting for its snapshot")
        first.kill()  # SIGKILL: no clean stop, the Lease is not released
        first.wait(timeout=10)
    assert status(kube, ns, "backups", "killed")["phase"] == "InProgress"
    with operator_process(cluster, ns, log):
        settled = wait_for(lambda: status(kube, ns, "backups", "killed").get("phase") in ("Completed", "Failed")
                           and status(kube, ns, "backups", "killed"), timeout=60, what="backup settled")
    assert settled["phase"] == "Failed", settled
    assert "stopped before it finished" in settled["reason"], settled
    assert not (tmp_path / "store" / "backups" / "killed" / "manifest.json").exists()
    kube.delete(f"/api/v1/namespaces/{app}")


def test_a_clean_stop_lets_the_backup_in_flight_finish(cluster, kube, ns, tmp_path) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    app = f"{ns}-db"
    kube.create("/api/v1/namespaces", namespace(app))
    stuck_claim(kube, app, "data")
    create(kube, ns, filesystem_location("local", str(tmp_path / "store")))
    with operator_thread(cluster, ns, "draining", drain_seconds=30):
        # The snapshot never gets ready: the backup ends PartiallyFailed after its 4 s timeout.
        create(kube, ns, custom("Backup", "in-flight", {"includeNamespaces": [app], "snapshotTimeoutSeconds": 4}))
        wait_for(lambda: status(kube, ns, "backups", "in-flight").get("phase") == "InProgress", timeout=30,
                 what="backup in progress")
    # Stopped (as on SIGTERM) with the backup in flight: it was let finish before the Lease went.
    finished = status(kube, ns, "backups", "in-flight")
    assert finished["phase"] == "PartiallyFailed" and "not captured" in finished["reason"], finished
    lease = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/salvage-operator")
    assert not lease["spec"].get("holderIdentity")
    kube.delete(f"/api/v1/namespaces/{app}")
