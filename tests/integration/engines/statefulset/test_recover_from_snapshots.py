"""`salvage statefulset recover` from VolumeSnapshots already in the namespace, on the real
local cluster: named one per ordinal (--from-snapshots) or picked by label (--snapshot-selector)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import Salvage
from tests.integration.engines.statefulset import snapshots as snaps
from tests.integration.engines.statefulset import stateful_app as app
from tests.support.builders import volume_snapshot
from tests.support.volumes import tree_digest, volume_dir
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"


def test_recover_from_named_snapshots_with_the_users_manifest(kube: KubeClient, ns: str, salvage: Salvage,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    original = app.deploy_from_file(kube, ns, path, "web", 2)
    digests = {o: app.write_log(kube, ns, f"log-web-{o}", [f"replica {o}"]) for o in range(2)}
    for o in range(2):
        snaps.snapshot(kube, ns, f"snap-{o}", f"log-web-{o}")
        app.write_log(kube, ns, f"log-web-{o}", ["after the snapshot: lost"])
    app.delete_statefulset(kube, ns, "web")
    old = {o: app.lose_volume(kube, ns, f"log-web-{o}") for o in range(2)}

    plan = salvage("statefulset", "recover", "web", "-n", ns, "--from-snapshots", "snap-0,snap-1",
                   "--manifest", str(path), "--dry-run")
    assert "from the VolumeSnapshots given (dry run: nothing changed)" in plan.stdout
    for o in range(2):
        assert f"log-web-{o}" in plan.stdout and f"VolumeSnapshot snap-{o}" in plan.stdout
    assert {o: app.pv_of(kube, ns, f"log-web-{o}") for o in range(2)} == old, "a dry run changes nothing"

    salvage("statefulset", "recover", "web", "-n", ns, "--from-snapshots", "snap-0,snap-1",
            "--manifest", str(path), "--timeout", "90")

    assert path.read_bytes() == original, "the user's manifest is only read"
    app.wait_running(kube, ns, "web", 2)
    for o in range(2):
        assert app.pv_of(kube, ns, f"log-web-{o}") != old[o]
        assert tree_digest(volume_dir(kube, ns, f"log-web-{o}")) == digests[o], "the snapshot's data"
        assert kube.exists(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/snap-{o}"), "the user's snapshot stays"


def test_the_selector_takes_the_newest_ready_snapshot_per_claim_and_keeps_the_live_statefulset(
        kube: KubeClient, ns: str, salvage: Salvage) -> None:
    app.apply(kube, ns, app.manifest("web", 2))
    app.wait_running(kube, ns, "web", 2)
    labels = {"app": "web", "tier": "nightly"}
    for o in range(2):
        app.write_log(kube, ns, f"log-web-{o}", ["monday"])
        snaps.snapshot(kube, ns, f"z-monday-{o}", f"log-web-{o}", labels)
    taken = kube.get(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/z-monday-1")["status"]["creationTime"]
    # creationTime has whole seconds: let the clock pass it, so "newest" is decided by time
    # (the newer snapshots' names sort first, so a choice by name would pick the old ones).
    wait_for(lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") > taken, timeout=5, what="a new second")
    tuesday = {o: app.write_log(kube, ns, f"log-web-{o}", ["tuesday"]) for o in range(2)}
    for o in range(2):
        snaps.snapshot(kube, ns, f"a-tuesday-{o}", f"log-web-{o}", labels)
    snaps.snapshot(kube, ns, "unlabelled", "log-web-1")
    after = app.write_log(kube, ns, "log-web-0", ["wednesday: ordinal 0 keeps this"])
    pv0 = app.pv_of(kube, ns, "log-web-0")
    app.lose_volume(kube, ns, "log-web-1")  # the StatefulSet still runs

    plan = json.loads(salvage("-o", "json", "statefulset", "recover", "web", "-n", ns,
                              "--snapshot-selector", "app=web,tier=nightly", "--dry-run").stdout)
    assert plan["source"] == "VolumeSnapshots labelled app=web,tier=nightly"
    assert [(c["claim"], c["action"], c["source"]) for c in plan["claims"]] == [
        ("log-web-0", "keep", "VolumeSnapshot a-tuesday-0"), ("log-web-1", "replace", "VolumeSnapshot a-tuesday-1")]

    result = json.loads(salvage("-o", "json", "statefulset", "recover", "web", "-n", ns,
                                "--snapshot-selector", "app=web,tier=nightly", "--timeout", "90").stdout)
    assert result["phase"] == "Completed" and result["statefulsetAction"] == "re-create"
    app.wait_running(kube, ns, "web", 2)
    assert tree_digest(volume_dir(kube, ns, "log-web-1")) == tuesday[1], "the newest snapshot's data"
    assert app.pv_of(kube, ns, "log-web-0") == pv0 and tree_digest(volume_dir(kube, ns, "log-web-0")) == after


def test_bad_snapshot_input_is_refused_and_nothing_changes(kube: KubeClient, ns: str, salvage: Salvage,
                                                          tmp_path: Path) -> None:
    app.apply(kube, ns, app.manifest("db", 2))
    app.wait_running(kube, ns, "db", 2)
    snaps.snapshot(kube, ns, "db-0", "log-db-0", {"app": "db"})
    kube.create(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots", volume_snapshot("broken", "no-such-claim", "hostpath"))
    broken = wait_for(lambda: (kube.get(f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/broken").get("status") or {})
                      .get("error", {}).get("message"), timeout=60, what="the broken snapshot's error")
    pvs = {o: app.pv_of(kube, ns, f"log-db-{o}") for o in range(2)}
    recover = ("statefulset", "recover", "db", "-n", ns)

    def refused(*args: str, code: int = 1) -> str:
        result = salvage(*recover, *args, check=False)
        assert result.returncode == code, result.stderr
        return result.stderr

    assert "exactly one of --from-backup, --from-snapshots and --snapshot-selector (not --from-snapshots and " \
           "--snapshot-selector)" in refused("--from-snapshots", "db-0", "--snapshot-selector", "app=db", code=2)
    assert "There is no VolumeSnapshot 'ghost'" in refused("--from-snapshots", "db-0,ghost")
    message = refused("--from-snapshots", "log-db-0=db-0,log-db-1=broken")
    assert "VolumeSnapshot" in message and "broken (for claim log-db-1) is not ready to use" in message
    assert broken in message, "the snapshot's own error"
    fewer = refused("--from-snapshots", "db-0")
    assert "snapshots for ordinal(s) 0 of StatefulSet" in fewer and "but not for 1" in fewer
    assert "--ordinals 0" in fewer
    assert "not for 1" in refused("--snapshot-selector", "app=db")
    assert "No VolumeSnapshot in namespace" in refused("--snapshot-selector", "app=nothing")
    assert "is not a label selector" in refused("--snapshot-selector", "app==db==x", code=2)
    assert "'log-web-0' is not a claim of StatefulSet db" in refused("--from-snapshots", "log-web-0=db-0", code=2)

    assert {o: app.pv_of(kube, ns, f"log-db-{o}") for o in range(2)} == pvs
    app.delete_statefulset(kube, ns, "db")
    no_manifest = refused("--from-snapshots", "db-0", "--ordinals", "0", code=2)
    assert "needs its manifest" in no_manifest and "--manifest FILE" in no_manifest
    assert not kube.exists(f"/apis/apps/v1/namespaces/{ns}/statefulsets/db"), "nothing was created"
    assert {o: app.pv_of(kube, ns, f"log-db-{o}") for o in range(2)} == pvs
