"""Drills of a 3-replica StatefulSet on the real node: the checks run in the restored
containers, a failing check fails the drill naming the pod, file-level volumes come back
through mover pods with their recorded tree digests, seed 001's PostgreSQL comes back with
its row counts, and either way nothing of the drill stays (namespace, claim, volume)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.images.builders import BUSYBOX
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.support.backups import rewrite_volume_records
from tests.support.builders import headless_service, statefulset
from tests.support.cli import salvage
from tests.support.damage import damage
from tests.support.waiting import pod_ready

pytestmark = pytest.mark.integration

# Each replica checks, in its own restored container, the file its original wrote.
CHECK = 'sh -c \'test "$(cat /data/id)" = "written-by-$(hostname)"\''
REPO = {"SALVAGE_REPO_PASSWORD": "drill-test-password"}  # the CLI's environment (tests.support.cli clears SALVAGE_*)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def deploy_web(kube: KubeClient, ns: str, replicas: int = 3) -> None:
    """StatefulSet web: each replica writes its own name into its volume's /data/id once."""
    app = statefulset("web", replicas=replicas)
    spec = app["spec"]["template"]["spec"]
    spec["terminationGracePeriodSeconds"] = 1
    spec["containers"][0].update(image=BUSYBOX.ref, imagePullPolicy="Never", command=[
        "sh", "-c", "test -e /data/id || echo written-by-$(hostname) > /data/id; sync; sleep 3600"])
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("web", "web"))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", app)
    for ordinal in range(replicas):
        pod_ready(kube, ns, f"web-{ordinal}")


@pytest.fixture
def backed_up(real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> str:
    """Three replicas backed up with CSI snapshots of their volumes."""
    deploy_web(real_kube, real_ns)
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


def test_a_drill_of_file_level_volumes_restores_them_through_mover_pods_and_refuses_a_damaged_pack(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    deploy_web(real_kube, real_ns)
    made = salvage(real_cluster.kubeconfig, "backup", "create", "web-files", "--include-namespaces", real_ns,
                   "--default-volumes-to-fs-backup", env=REPO)
    assert made.returncode == 0, made.stderr

    out = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", "web-files",
                  "--verify-command", CHECK, "--timeout", "180", env=REPO)
    assert out.returncode == 0, out.stderr
    drill = json.loads(out.stdout)
    assert drill["phase"] == "Passed" and len(drill["checks"]) == 7
    digests = [c for c in drill["checks"] if c["name"].startswith("volume-digest")]
    assert len(digests) == 3 and all(c["passed"] and "as recorded" in c["detail"] for c in digests), digests
    assert _leftovers(real_kube, drill) == []

    store = open_location().store
    packs = sorted((i for i in store.list("repository/data/")), key=lambda i: i.size)
    with damage(store, packs[-1].key, "flip"):
        bad = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", "web-files", env=REPO)
    assert bad.returncode == 1
    failed = json.loads(bad.stdout)
    assert failed["phase"] == "Failed" and failed["counts"] == {}, "refused before anything was made"
    assert any(packs[-1].key.rsplit("/", 1)[1][:12] in e for e in failed["errors"]), failed["errors"]
    assert not [n for n in real_kube.list("/api/v1/namespaces") if "-drill-" in n["metadata"]["name"]]


def test_a_drill_of_seed_001_with_its_postgresql_loads_the_dumps_and_compares_row_counts(
        real_cluster: LocalCluster, real_kube: KubeClient, real_ns: str, home: Path) -> None:
    from tests.integration.engines import test_postgres as pg

    pg.deploy(real_kube, real_ns)
    pg.run_script(real_kube, real_ns, pg.SETUP)
    made = salvage(real_cluster.kubeconfig, "backup", "create", "pg-nightly", "--include-namespaces", real_ns,
                   env=pg.REPO)
    assert made.returncode == 0, made.stderr

    out = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", "pg-nightly",
                  "--timeout", "240", env=pg.REPO)

    assert out.returncode == 0, out.stdout + out.stderr
    drill = json.loads(out.stdout)
    scratch = drill["namespaces"][real_ns]
    [rows] = [c for c in drill["checks"] if c["name"].startswith("postgresql-rows")]
    assert rows["name"] == f"postgresql-rows {scratch}/data-postgresql-0" and rows["passed"], rows
    assert "row counts as recorded" in rows["detail"] and "shop" in rows["detail"]
    assert list(drill["phases"]) == ["verify", "volumes", "objects", "readiness", "databases", "checks"]
    print(f"\ndrill of seed 001 with PostgreSQL on the real node: {drill['recovery_time_seconds']}s, "
          f"phases {drill['phases']}")
    assert _leftovers(real_kube, drill) == [] and drill["cleanup"] == []

    # A count that no longer matches what the restore gives (as if rows were lost): named.
    def fewer_orders(records: list) -> None:  # type: ignore[type-arg]
        [database] = [r["database"] for r in records if r.get("method") == "postgresql"]
        shop = next(d for d in database["databases"] if d["name"] == "shop")
        shop["tables"]["public.orders"] += 1

    rewrite_volume_records(open_location().store, "pg-nightly", fewer_orders)
    bad = salvage(real_cluster.kubeconfig, "-o", "json", "drill", "run", "--from-backup", "pg-nightly",
                  "--timeout", "240", env=pg.REPO)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    [wrong] = [c for c in report["checks"] if not c["passed"]]
    assert wrong["name"].startswith("postgresql-rows")
    assert "shop.public.orders: 50001 recorded, 50000 restored" in wrong["detail"], wrong
    assert _leftovers(real_kube, report) == []
