"""`salvage statefulset recover` with several claim templates (``CLAIM=SNAPSHOT`` pairs), and
``--verify-container`` in pods of two containers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import Salvage
from tests.integration.engines.statefulset import snapshots as snaps
from tests.integration.engines.statefulset import stateful_app as app
from tests.support.builders import headless_service, statefulset, storage_class
from tests.support.volumes import tree_digest, volume_dir

pytestmark = pytest.mark.integration


def _two_templates(name: str, storage_class: str) -> list[dict[str, Any]]:
    """A StatefulSet whose pods mount two claims: `log-<name>-N` and `data-<name>-N`.

    On a class that binds on first use, so both volumes land on the pod's node (with
    immediate binding each could be provisioned on another node, and the pod never runs)."""
    sts = statefulset(name, replicas=1, template="log", storage_class=storage_class)
    spec = sts["spec"]
    spec["volumeClaimTemplates"].append({"metadata": {"name": "data"},
                                         "spec": spec["volumeClaimTemplates"][0]["spec"]})
    spec["template"]["spec"]["containers"][0]["volumeMounts"].append({"name": "data", "mountPath": "/var/data"})
    return [headless_service(name, name), sts]


def test_several_claim_templates_each_get_the_snapshot_named_for_them(
        kube: KubeClient, ns: str, salvage: Salvage, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    kube.create("/apis/storage.k8s.io/v1/storageclasses",
                storage_class(f"{ns}-local", binding_mode="WaitForFirstConsumer"))
    request.addfinalizer(lambda: kube.delete(f"/apis/storage.k8s.io/v1/storageclasses/{ns}-local"))
    docs = _two_templates("db", f"{ns}-local")
    manifest = app.write_manifest(tmp_path / "db.yaml", docs)
    app.apply(kube, ns, docs)
    app.wait_running(kube, ns, "db", 1, template="log")
    app.wait_running(kube, ns, "db", 1, template="data")
    digests = {}
    for claim in ("log-db-0", "data-db-0"):
        digests[claim] = app.write_log(kube, ns, claim, [f"the {claim} volume"])
        snaps.snapshot(kube, ns, f"snap-{claim}", claim)
        app.write_log(kube, ns, claim, ["after the snapshot: lost"])
    app.delete_statefulset(kube, ns, "db")
    for claim in digests:
        app.lose_volume(kube, ns, claim)
    # Pairs, in the opposite order of the templates: each claim must get its own snapshot.
    recover = ("statefulset", "recover", "db", "-n", ns, "--manifest", str(manifest),
               "--from-snapshots", "data-db-0=snap-data-db-0,log-db-0=snap-log-db-0")

    plan = json.loads(salvage("-o", "json", *recover, "--dry-run").stdout)
    assert sorted((c["claim"], c["action"], c["source"]) for c in plan["claims"]) == [
        ("data-db-0", "replace", "VolumeSnapshot snap-data-db-0"),
        ("log-db-0", "replace", "VolumeSnapshot snap-log-db-0")]
    salvage(*recover, "--timeout", "90")

    app.wait_running(kube, ns, "db", 1, template="log")
    for claim, digest in digests.items():
        assert tree_digest(volume_dir(kube, ns, claim)) == digest, f"{claim} has its own snapshot's data"

    missing = salvage("statefulset", "recover", "db", "-n", ns, "--from-snapshots", "log-db-0=snap-log-db-0",
                      check=False)
    assert missing.returncode == 1 and "but not for 0 (claim(s) data-db-0)" in missing.stderr, \
        "the claim without a snapshot is named"


def _two_containers(name: str) -> list[dict[str, Any]]:
    service, sts = app.manifest(name, 1)
    containers = sts["spec"]["template"]["spec"]["containers"]
    containers.append({**containers[0], "name": "sidecar"})
    return [service, sts]


def _exec_per_container(name: str, work_dirs: dict[str, Path]) -> dict[str, Any]:
    """kwok's Exec rule with one working directory per container of pod ``name``."""
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec", "metadata": {"name": name},
            "spec": {"execs": [{"containers": [container], "local": {"workDir": str(directory)}}
                               for container, directory in work_dirs.items()]}}


def test_verify_container_chooses_where_the_command_runs(kube: KubeClient, ns: str, salvage: Salvage,
                                                         tmp_path: Path) -> None:
    app.apply(kube, ns, _two_containers("kv"))
    app.wait_running(kube, ns, "kv", 1)
    app.write_log(kube, ns, "log-kv-0", ["kept"])
    salvage("backup", "create", "kv-backup", "--include-namespaces", ns)
    work_dirs = {container: tmp_path / container for container in ("app", "sidecar")}
    for container, directory in work_dirs.items():
        directory.mkdir()
        (directory / "whoami").write_text(f"I am {container}\n")
    kube.create(f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{ns}/execs", _exec_per_container("kv-0", work_dirs))

    def recover(*verify: str) -> Any:
        app.delete_statefulset(kube, ns, "kv")
        app.lose_volume(kube, ns, "log-kv-0")
        return salvage("statefulset", "recover", "kv", "-n", ns, "--from-backup", "kv-backup",
                       "--verify-command", "cat whoami", *verify, "--timeout", "90", check=False)

    chosen = recover("--verify-container", "sidecar")
    assert chosen.returncode == 0, chosen.stderr
    assert "verify kv-0: ok\n  I am sidecar" in chosen.stdout
    other = recover("--verify-container", "app")
    assert other.returncode == 0 and "verify kv-0: ok\n  I am app" in other.stdout
    unknown = recover("--verify-container", "nosuch")
    assert unknown.returncode != 0 and "nosuch" in unknown.stdout + unknown.stderr
