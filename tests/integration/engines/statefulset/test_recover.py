"""`salvage statefulset recover` on the real local cluster (seed 000's disaster, and part of it)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from tests.integration.engines.conftest import Salvage
from tests.integration.engines.statefulset import stateful_app as app
from tests.support.builders import kwok_exec
from tests.support.volumes import tree_digest, volume_dir
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def test_recover_with_the_users_manifest_unchanged(kube: KubeClient, ns: str, salvage: Salvage,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "statefulset.yaml"
    original = app.deploy_from_file(kube, ns, path, "hello-stateful", 1)
    digest = app.write_log(kube, ns, "log-hello-stateful-0", ["Sun May 20 11:40:55 UTC 2018"])
    salvage("backup", "create", "before", "--include-namespaces", ns)
    app.write_log(kube, ns, "log-hello-stateful-0", ["written after the snapshot: lost"])

    app.delete_statefulset(kube, ns, "hello-stateful")
    old_pv = app.lose_volume(kube, ns, "log-hello-stateful-0")  # PV and PVC now dangle

    plan = salvage("statefulset", "recover", "hello-stateful", "-n", ns, "--from-backup", "before",
                   "--manifest", str(path), "--dry-run")
    assert "dry run: nothing changed" in plan.stdout
    assert "replace" in plan.stdout and f"dangling: the volume of PV {old_pv} is gone" in plan.stdout
    assert app.pv_of(kube, ns, "log-hello-stateful-0") == old_pv, "a dry run changes nothing"

    salvage("statefulset", "recover", "hello-stateful", "-n", ns, "--from-backup", "before",
            "--manifest", str(path), "--timeout", "90")

    assert path.read_bytes() == original, "the user's manifest is only read"
    app.wait_running(kube, ns, "hello-stateful", 1)
    assert app.pv_of(kube, ns, "log-hello-stateful-0") != old_pv
    assert not kube.exists(f"/api/v1/persistentvolumes/{old_pv}"), "the dangling PV was removed"
    assert tree_digest(volume_dir(kube, ns, "log-hello-stateful-0")) == digest
    pod = kube.get(f"/api/v1/namespaces/{ns}/pods/hello-stateful-0")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == ["log-hello-stateful-0"], "the StatefulSet adopted the recovered claim by name"
    leftovers = list(kube.list(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots"))
    assert leftovers == [], "recover's temporary snapshot objects are released"


def test_recover_only_the_ordinal_that_lost_its_volume(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    docs = app.manifest("web", 3)
    app.apply(kube, ns, docs)
    app.wait_running(kube, ns, "web", 3)
    digests = {o: app.write_log(kube, ns, f"log-web-{o}", [f"replica {o}"]) for o in range(3)}
    salvage("backup", "create", "three", "--include-namespaces", ns)
    for o in (0, 2):  # their data moves on after the backup and must survive the recovery
        digests[o] = app.write_log(kube, ns, f"log-web-{o}", [f"replica {o}, after the backup"])
    pvs = {o: app.pv_of(kube, ns, f"log-web-{o}") for o in range(3)}
    pods = {o: kube.get(f"/api/v1/namespaces/{ns}/pods/web-{o}")["metadata"]["uid"] for o in (0, 2)}
    app.lose_volume(kube, ns, "log-web-1")  # the StatefulSet still runs

    result = json.loads(salvage("-o", "json", "statefulset", "recover", "web", "-n", ns,
                                "--from-backup", "three", "--timeout", "90").stdout)

    actions = {c["claim"]: c["action"] for c in result["claims"]}
    assert actions == {"log-web-0": "keep", "log-web-1": "replace", "log-web-2": "keep"}
    assert result["statefulsetAction"] == "re-create" and result["phase"] == "Completed"
    app.wait_running(kube, ns, "web", 3)
    for o in (0, 2):
        assert app.pv_of(kube, ns, f"log-web-{o}") == pvs[o], "untouched ordinals keep their PV"
        assert tree_digest(volume_dir(kube, ns, f"log-web-{o}")) == digests[o], "and their data"
    assert app.pv_of(kube, ns, "log-web-1") != pvs[1]
    assert tree_digest(volume_dir(kube, ns, "log-web-1")) == digests[1]
    statefulset = wait_for(lambda: (s := kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web"))["status"]
                           .get("updatedReplicas") == 3 and s, timeout=60, what="web's status up to date")
    assert statefulset["status"]["currentRevision"] == statefulset["status"]["updateRevision"]
    assert {o: kube.get(f"/api/v1/namespaces/{ns}/pods/web-{o}")["metadata"]["uid"] for o in (0, 2)} == pods, \
        "the other replicas kept running: adopted, not rolled"


def test_bad_input_is_refused_and_nothing_changes(kube: KubeClient, ns: str, salvage: Salvage,
                                                  tmp_path: Path) -> None:
    app.apply(kube, ns, app.manifest("db", 2))
    app.wait_running(kube, ns, "db", 2)
    salvage("backup", "create", "full", "--include-namespaces", ns)
    salvage("backup", "create", "objects-only", "--include-namespaces", ns, "--no-snapshot-volumes")
    pvs = {o: app.pv_of(kube, ns, f"log-db-{o}") for o in range(2)}

    missing = salvage("statefulset", "recover", "nope", "-n", ns, "--from-backup", "full", check=False)
    assert missing.returncode == 1
    assert f"has no StatefulSet {ns}/nope" in missing.stderr and "It has: db." in missing.stderr

    no_data = salvage("statefulset", "recover", "db", "-n", ns, "--from-backup", "objects-only", check=False)
    assert no_data.returncode == 1 and "has no volume data for StatefulSet" in no_data.stderr

    grown = app.write_manifest(tmp_path / "db.yaml", app.manifest("db", 3))  # one more replica than backed up
    fewer = salvage("statefulset", "recover", "db", "-n", ns, "--from-backup", "full", "--manifest", str(grown),
                    check=False)
    assert fewer.returncode == 1
    assert "snapshots for ordinal(s) 0,1" in fewer.stderr and "but not for 2" in fewer.stderr
    assert "--ordinals 0,1" in fewer.stderr

    beyond = salvage("statefulset", "recover", "db", "-n", ns, "--from-backup", "full", "--ordinals", "5",
                     check=False)
    assert beyond.returncode == 2 and "no ordinal 5" in beyond.stderr

    assert {o: app.pv_of(kube, ns, f"log-db-{o}") for o in range(2)} == pvs
    assert kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/db")["spec"]["replicas"] == 2


def test_a_volume_that_cannot_be_checked_is_replaced_only_with_force(kube: KubeClient, ns: str,
                                                                    salvage: Salvage) -> None:
    app.apply(kube, ns, app.manifest("kv", 1))
    app.wait_running(kube, ns, "kv", 1)
    digest = app.write_log(kube, ns, "log-kv-0", ["kept by the backup"])
    salvage("backup", "create", "kv-backup", "--include-namespaces", ns)
    app.delete_statefulset(kube, ns, "kv")
    kube.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/log-kv-0")
    # The claim now sits on a volume of a driver Salvage cannot look into.
    foreign = f"foreign-{ns}"
    kube.create("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": foreign},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "claimRef": {"namespace": ns, "name": "log-kv-0"},
                 "csi": {"driver": "disks.example.com", "volumeHandle": "vol-123"}}})
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/log-kv-0"),
             timeout=60, what="the old claim deleted")
    kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "log-kv-0"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "", "volumeName": foreign}})
    wait_for(lambda: app.pv_of(kube, ns, "log-kv-0") == foreign
             and kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/log-kv-0")["status"].get("phase") == "Bound",
             timeout=60, what="the claim bound to the foreign volume")

    refused = salvage("statefulset", "recover", "kv", "-n", ns, "--from-backup", "kv-backup", check=False)
    assert refused.returncode == 1
    assert f"cannot prove the volume of PV {foreign} is gone" in refused.stderr and "--force" in refused.stderr
    assert app.pv_of(kube, ns, "log-kv-0") == foreign, "nothing changed"

    salvage("statefulset", "recover", "kv", "-n", ns, "--from-backup", "kv-backup", "--force", "--timeout", "90")
    app.wait_running(kube, ns, "kv", 1)
    assert tree_digest(volume_dir(kube, ns, "log-kv-0")) == digest
    assert not kube.exists(f"/api/v1/persistentvolumes/{foreign}")


def test_verify_command_runs_in_each_recovered_pod_and_a_failure_says_so(
        kube: KubeClient, ns: str, salvage: Salvage, tmp_path: Path) -> None:
    docs = app.manifest("hello-stateful", 2)
    app.apply(kube, ns, docs)
    app.wait_running(kube, ns, "hello-stateful", 2)
    for ordinal in (0, 1):
        app.write_log(kube, ns, f"log-hello-stateful-{ordinal}", [f"Sun May 20 11:40:5{ordinal} UTC 2018"])
    salvage("backup", "create", "checked", "--include-namespaces", ns)
    app.delete_statefulset(kube, ns, "hello-stateful")
    followers = []
    for ordinal in (0, 1):
        claim = f"log-hello-stateful-{ordinal}"
        lost = app.lose_volume(kube, ns, claim)
        # kwok serves exec by running the command on this machine in a working directory:
        # here a link that will point at the claim's recovered volume, and nowhere before.
        link = tmp_path / f"pod-{ordinal}"
        link.symlink_to(tmp_path / "not-recovered-yet")
        kube.create(f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{ns}/execs",
                    kwok_exec(f"hello-stateful-{ordinal}", str(link)))
        followers.append(_follow_recovered_volume(kube, ns, claim, lost, link))

    result = salvage("statefulset", "recover", "hello-stateful", "-n", ns, "--from-backup", "checked",
                     "--verify-command", "tail -n 1 stateful.log", "--timeout", "90")
    for follower in followers:
        follower.join(timeout=60)
    assert "verify hello-stateful-0: ok\n  Sun May 20 11:40:50 UTC 2018" in result.stdout
    assert "verify hello-stateful-1: ok\n  Sun May 20 11:40:51 UTC 2018" in result.stdout

    app.delete_statefulset(kube, ns, "hello-stateful")
    app.lose_volume(kube, ns, "log-hello-stateful-1")
    failed = salvage("statefulset", "recover", "hello-stateful", "-n", ns, "--from-backup", "checked",
                     "--ordinals", "1", "--verify-command", "cat no-such-file", "--timeout", "90", check=False)
    assert failed.returncode == 1
    assert "verify hello-stateful-1: FAILED" in failed.stdout


def _follow_recovered_volume(kube: KubeClient, ns: str, claim: str, lost_pv: str, link: Path) -> threading.Thread:
    """Point ``link`` at the claim's new volume as soon as recover has bound it (before its
    pod runs, which is when the verify command runs)."""
    def rebound() -> bool:
        try:  # recover deletes the dangling claim before it creates the new one
            found = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
        except KubernetesError as exc:
            if exc.status == 404:
                return False
            raise
        return (found.get("status") or {}).get("phase") == "Bound" and found["spec"].get("volumeName") != lost_pv

    def follow() -> None:
        wait_for(rebound, timeout=120, interval=0.05, what=f"{claim} recovered")
        staged = link.with_name(link.name + ".new")
        staged.symlink_to(volume_dir(kube, ns, claim))
        os.replace(staged, link)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread
