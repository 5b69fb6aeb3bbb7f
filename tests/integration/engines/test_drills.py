"""`salvage drill` on the local cluster (kwok nodes): seed 001's namespace is restored into a
scratch namespace, checked, measured by phase and removed; the report lands beside the
backup; a damaged backup fails the drill before anything is made; the namespaces of a drill
killed outright are removed by the next drill of its backup. Drills of workloads whose
checks run in containers are in test_drills_real.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from salvage.catalog import layout
from salvage.devcluster.local_cluster import LocalCluster
from salvage.engines.drill_scratch import list_scratch
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.repo.snapshots import find_snapshot
from salvage.repo.tree import decode_tree, encode_tree, get_text
from salvage.storage.base import Store
from salvage.volumes import location_repository
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage
from tests.support.backups import rewrite_volume_records
from tests.support.builders import never_ready_deployment
from tests.support.damage import damage
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _leftovers(kube: KubeClient, drill: dict) -> list[str]:
    scratch = set(drill["namespaces"].values())
    left = [f"namespace {n}" for n in scratch if kube.exists(f"/api/v1/namespaces/{n}")]
    left += [f"pv {pv['metadata']['name']}" for pv in kube.list("/api/v1/persistentvolumes")
             if ((pv["spec"].get("claimRef") or {}).get("namespace")) in scratch]
    return left


def test_a_drill_of_seed_001_passes_reports_by_phase_and_leaves_nothing(
        kube: KubeClient, ns: str, salvage: Salvage) -> None:
    digest = workload.deploy(kube, ns)
    salvage("backup", "create", "pg-nightly", "--include-namespaces", ns)
    before = {p["metadata"]["name"] for p in kube.list("/api/v1/persistentvolumes")}

    out = salvage("-o", "json", "drill", "run", "--from-backup", "pg-nightly", "--timeout", "120")

    drill = json.loads(out.stdout)
    assert drill["phase"] == "Passed", drill["errors"]
    scratch = drill["namespaces"][ns]
    assert scratch.startswith(f"{ns}-drill-") and scratch != ns
    assert list(drill["phases"]) == ["verify", "volumes", "objects", "readiness", "checks"]
    assert 0 < drill["recovery_time_seconds"] >= sum(drill["phases"].values()) - 0.5
    assert drill["recovery_point_seconds"] is not None and drill["recovery_point_seconds"] >= 0
    assert [c["name"] for c in drill["checks"]] == ["objects", f"volume-digest {scratch}/data-pg-0"]
    assert all(c["passed"] for c in drill["checks"])
    assert "no tree digest recorded (method csi-snapshot)" in drill["checks"][1]["detail"]
    assert drill["counts"]["created"] >= 6  # namespace, secret, 2 configmaps, service, statefulset, claim
    assert _leftovers(kube, drill) == [] and drill["cleanup"] == []
    # No volume is left by the drill (others' may be going away: the cluster is shared).
    assert {p["metadata"]["name"] for p in kube.list("/api/v1/persistentvolumes")} <= before
    assert workload.digest_of(kube, ns) == digest, "the original namespace is untouched"

    store = open_location().store
    key = layout.drill("pg-nightly", drill["name"])
    assert json.loads(store.get(key))["recovery_time_seconds"] == drill["recovery_time_seconds"]
    listed = salvage("drill", "get").stdout
    assert drill["name"] in listed and "Passed" in listed
    described = salvage("drill", "describe", drill["name"]).stdout
    assert "Recovery time:" in described and "readiness" in described
    restored = salvage("-o", "json", "backup", "describe", "pg-nightly")
    assert json.loads(restored.stdout)["phase"] == "Completed", "a report beside the backup leaves it intact"


def test_a_damaged_backup_fails_the_drill_before_anything_is_made(
        kube: KubeClient, ns: str, salvage: Salvage) -> None:
    workload.deploy(kube, ns)
    salvage("backup", "create", "pg-damaged", "--include-namespaces", ns)
    store = open_location().store
    [statefulsets] = [k.key for k in store.list(layout.prefix("pg-damaged")) if "/statefulsets." in k.key]

    with damage(store, statefulsets, "flip"):
        out = salvage("-o", "json", "drill", "run", "--from-backup", "pg-damaged", check=False)
    assert out.stdout, out.stderr

    assert out.returncode == 1
    drill = json.loads(out.stdout)
    assert drill["phase"] == "Failed" and drill["recovery_time_seconds"] is None
    assert any("statefulsets" in e for e in drill["errors"]), drill["errors"]
    assert _leftovers(kube, drill) == []
    assert not [n for n in kube.list("/api/v1/namespaces") if "-drill-" in n["metadata"]["name"]]
    assert drill["name"] in salvage("drill", "get").stdout, "a failed drill's report is kept too"


def test_a_drill_of_a_backup_that_does_not_exist_is_refused(salvage: Salvage) -> None:
    out = salvage("drill", "run", "--from-backup", "nope", check=False)
    assert out.returncode == 1 and "There is no backup named 'nope'" in out.stderr
    missing = salvage("drill", "run", check=False)
    assert missing.returncode != 0 and "--from-backup" in missing.stderr


def test_a_schedule_is_drilled_through_its_newest_completed_backup(
        kube: KubeClient, ns: str, salvage: Salvage) -> None:
    workload.deploy(kube, ns)
    for name in ("daily-1", "daily-2"):
        salvage("backup", "create", name, "--include-namespaces", ns, "--labels", "salvage.io/schedule=pg-daily")
    salvage("backup", "create", "other", "--include-namespaces", ns)

    drill = json.loads(salvage("-o", "json", "drill", "run", "--schedule", "pg-daily").stdout)

    assert drill["backup"] == "daily-2" and drill["phase"] == "Passed"
    none = salvage("drill", "run", "--schedule", "nope", check=False)
    assert none.returncode == 1 and "Schedule 'nope' has no Completed backup" in none.stderr
    both = salvage("drill", "run", "--schedule", "pg-daily", "--from-backup", "other", check=False)
    assert both.returncode == 2 and "one of them" in both.stderr


def test_a_drill_killed_outright_leaves_marked_namespaces_that_the_next_drill_of_its_backup_removes(
        kube: KubeClient, ns: str, salvage: Salvage, cluster: LocalCluster) -> None:
    kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", never_ready_deployment("web"))
    salvage("backup", "create", "stuck", "--include-namespaces", ns, "--no-snapshot-volumes")
    killed = subprocess.Popen(
        [sys.executable, "-m", "salvage", "--kubeconfig", str(cluster.kubeconfig), "drill", "run",
         "--from-backup", "stuck", "--timeout", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    try:
        [left] = wait_for(lambda: [s for s in list_scratch(kube) if s.backup == "stuck"], timeout=120,
                          what="the drill's scratch namespace")
        wait_for(lambda: kube.list(f"/apis/apps/v1/namespaces/{left.namespace}/deployments"), timeout=60,
                 what="the drill restoring into it")
    finally:
        killed.kill()  # SIGKILL: no clean-up runs
        killed.wait(timeout=30)
    assert left.namespace.startswith(f"{ns}-drill-") and left.runner.endswith(f":{killed.pid}")
    assert kube.exists(f"/api/v1/namespaces/{left.namespace}"), "a killed drill cleans nothing up"

    out = salvage("-o", "json", "drill", "run", "--from-backup", "stuck", "--timeout", "5", check=False)

    assert out.returncode == 1, out.stderr  # its own Deployment never gets ready either
    said = " ".join(out.stderr.split())
    assert f"removed namespace {left.namespace}, left by drill {left.drill}" in said, out.stderr
    assert not kube.exists(f"/api/v1/namespaces/{left.namespace}")
    drill = json.loads(out.stdout)
    assert drill["namespaces"][ns] != left.namespace and _leftovers(kube, drill) == []
    assert [s.namespace for s in list_scratch(kube) if s.backup == "stuck"] == []
    assert kube.exists(f"/api/v1/namespaces/{ns}"), "the original is never touched"


PASSWORD = "drill digest password"
PASSWORD = "drill digest password"


def test_a_drill_compares_each_file_level_volume_with_the_tree_digest_its_backup_recorded(
        kube: KubeClient, ns: str, salvage: Salvage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    workload.deploy(kube, ns)
    salvage("backup", "create", "pg-files", "--include-namespaces", ns, "--default-volumes-to-fs-backup")
    [record] = json.loads(open_location().store.get(layout.volumes("pg-files")))
    assert record["method"] == "fs" and record["treeDigest"].startswith("sha256:")

    drill = json.loads(salvage("-o", "json", "drill", "run", "--from-backup", "pg-files", "--timeout", "120").stdout)

    assert drill["phase"] == "Passed", drill["errors"]
    [checked] = [c for c in drill["checks"] if c["name"].startswith("volume-digest")]
    assert checked == {"name": f"volume-digest {drill['namespaces'][ns]}/data-pg-0", "passed": True,
                       "detail": f"{record['treeDigest']} as recorded"}


def test_a_volume_whose_data_changed_after_its_digest_was_recorded_fails_the_drill_naming_the_file(
        kube: KubeClient, ns: str, salvage: Salvage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    workload.deploy(kube, ns)
    salvage("backup", "create", "pg-altered", "--include-namespaces", ns, "--default-volumes-to-fs-backup")
    store = open_location().store
    _replace_stored_bytes(store, "pg-altered", ["base", "16384", "1259"], os.urandom(256 * 1024))
    assert salvage("backup", "describe", "pg-altered").returncode == 0, "every checksum still holds"

    out = salvage("-o", "json", "drill", "run", "--from-backup", "pg-altered", "--timeout", "120", check=False)

    assert out.returncode == 1, out.stderr
    drill = json.loads(out.stdout)
    [failed] = [c for c in drill["checks"] if not c["passed"]]
    assert failed["name"] == f"volume-digest {drill['namespaces'][ns]}/data-pg-0"
    assert "/base/16384/1259: content differs" in failed["detail"], failed["detail"]
    assert drill["phase"] == "Failed" and drill["recovery_time_seconds"] is None
    assert any("volume-digest" in e and "1259" in e for e in drill["errors"])
    assert _leftovers(kube, drill) == []


def _replace_stored_bytes(store: Store, backup: str, path: list[str], data: bytes) -> None:
    """Silent corruption, simulated: one file's stored bytes replaced after the backup, under
    the hash it recorded, by someone holding the repository key, so every MAC, content hash
    and catalog checksum still holds (the backup's volume record points at the new
    snapshot, with its checksum in the manifest updated)."""
    repo = location_repository.repository(store, PASSWORD, create=False)
    [record] = [r for r in json.loads(store.get(layout.volumes(backup))) if r["method"] == "fs"]
    snapshot = find_snapshot(repo, record["snapshotHandle"])
    writer = repo.writer()

    def rewrite(tree: bytes, parts: list[str]) -> bytes:
        nodes = decode_tree(repo.read_blob(tree))
        [node] = [n for n in nodes if get_text(n, "name") == parts[0]]
        if len(parts) > 1:
            node["subtree"] = rewrite(bytes.fromhex(node["subtree"]), parts[1:]).hex()
        else:
            assert node["size"] == len(data) and "sha256" in node
            blob = repo.master.id_of(data)
            writer.add_blob("data", blob, data)
            node["content"] = [blob.hex()]
        body = encode_tree(nodes)
        writer.add_blob("tree", repo.master.id_of(body), body)
        return repo.master.id_of(body)

    try:
        root = rewrite(snapshot.tree, path)
        writer.flush()
    finally:
        writer.close()
    altered = repo.save_file("snapshots", {**snapshot.wire, "tree": root.hex()})
    rewrite_volume_records(store, backup, lambda records: records[records.index(record)].update(
        snapshotHandle=altered))
