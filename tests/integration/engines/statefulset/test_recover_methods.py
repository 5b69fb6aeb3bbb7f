"""`salvage statefulset recover` from a file-level (fs) backup, and into another namespace than
the backup's, on the real local cluster. (aws-ebs records: tests/integration/volumes.)"""

from __future__ import annotations

import json

import pytest

from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import Salvage
from tests.integration.engines.statefulset import stateful_app as app
from tests.support.volumes import tree_digest, volume_dir
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


def test_recover_from_a_file_level_backup(kube: KubeClient, ns: str, salvage: Salvage,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", PASSWORD)
    app.apply(kube, ns, app.manifest("files", 2))
    app.wait_running(kube, ns, "files", 2)
    digests = {o: app.write_log(kube, ns, f"log-files-{o}", [f"replica {o}"] * 1000) for o in range(2)}
    salvage("backup", "create", "fs-backup", "--include-namespaces", ns, "--default-volumes-to-fs-backup")
    app.write_log(kube, ns, "log-files-1", ["after the backup: lost"])
    old = app.lose_volume(kube, ns, "log-files-1")

    with monkeypatch.context() as no_password:
        no_password.delenv("SALVAGE_REPO_PASSWORD")
        refused = salvage("statefulset", "recover", "files", "-n", ns, "--from-backup", "fs-backup", check=False)
    assert refused.returncode == 2 and "needs the repository password" in refused.stderr
    assert app.pv_of(kube, ns, "log-files-1") == old, "nothing changed"

    plan = json.loads(salvage("-o", "json", "statefulset", "recover", "files", "-n", ns,
                              "--from-backup", "fs-backup", "--dry-run").stdout)
    assert [c["action"] for c in plan["claims"]] == ["keep", "replace"]
    assert all(c["source"].startswith("files from repository snapshot ") for c in plan["claims"])

    salvage("statefulset", "recover", "files", "-n", ns, "--from-backup", "fs-backup", "--timeout", "90")

    app.wait_running(kube, ns, "files", 2)
    assert app.pv_of(kube, ns, "log-files-1") != old
    assert tree_digest(volume_dir(kube, ns, "log-files-1")) == digests[1], "the files came back byte for byte"


def test_recover_into_another_namespace(kube: KubeClient, ns: str, other_ns: str, salvage: Salvage) -> None:
    app.apply(kube, ns, app.manifest("web", 2))
    app.wait_running(kube, ns, "web", 2)
    digests = {o: app.write_log(kube, ns, f"log-web-{o}", [f"replica {o}"]) for o in range(2)}
    salvage("backup", "create", "web-backup", "--include-namespaces", ns)
    app.write_log(kube, ns, "log-web-0", ["the original moves on"])
    pvs = {o: app.pv_of(kube, ns, f"log-web-{o}") for o in range(2)}

    missing = salvage("statefulset", "recover", "web", "-n", other_ns, "--from-backup", "web-backup", check=False)
    assert missing.returncode == 1 and f"has no StatefulSet {other_ns}/web" in missing.stderr
    assert f"pass --backup-namespace {ns}" in missing.stderr

    result = json.loads(salvage("-o", "json", "statefulset", "recover", "web", "-n", other_ns, "--from-backup",
                                "web-backup", "--backup-namespace", ns, "--timeout", "90").stdout)

    assert result["namespace"] == other_ns and result["service"] == "web", "the Service comes along"
    assert [c["action"] for c in result["claims"]] == ["create", "create"]
    app.wait_running(kube, other_ns, "web", 2)
    assert kube.exists(f"/api/v1/namespaces/{other_ns}/services/web")
    for o in range(2):
        assert tree_digest(volume_dir(kube, other_ns, f"log-web-{o}")) == digests[o]
        assert app.pv_of(kube, ns, f"log-web-{o}") == pvs[o], "the original is untouched"
    assert tree_digest(volume_dir(kube, ns, "log-web-0")) != digests[0], "and keeps its newer data"
    # The original keeps running: its status may still be catching up on a busy machine.
    wait_for(lambda: kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")["status"].get("readyReplicas") == 2,
             timeout=60, what=f"StatefulSet {ns}/web to stay at 2 ready replicas")
