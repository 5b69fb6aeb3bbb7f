"""`salvage drill` on the local cluster (kwok nodes): seed 001's namespace is restored into a
scratch namespace, checked, measured by phase and removed; the report lands beside the
backup; a damaged backup fails the drill before anything is made. Drills of workloads whose
checks run in containers are in test_drills_real.py."""

from __future__ import annotations

import json

import pytest

from salvage.catalog import layout
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage
from tests.support.damage import damage

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
    assert [c["name"] for c in drill["checks"]] == ["objects"] and drill["checks"][0]["passed"]
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
