"""`salvage schedule` verbs on a cluster with the operator's CRDs (no operator needed:
they write and read Schedule objects)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import salvage
from tests.support.operator import install_crds

pytestmark = pytest.mark.integration


def test_schedule_verbs(cluster, kube, ns) -> None:  # type: ignore[no-untyped-def]
    install_crds(kube)
    run = lambda *args: salvage(cluster.kubeconfig, "schedule", *args, "-n", ns)  # noqa: E731
    made = run("create", "nightly", "--schedule", "30 2 * * *", "--time-zone", "Europe/Paris",
               "--include-namespaces", "wp", "--no-snapshot-volumes", "--ttl", "720h",
               "--keep-daily", "7", "--keep-floor", "3", "--repo-password-secret", "repo:pw")
    assert made.returncode == 0, made.stderr
    spec = kube.get(f"/apis/salvage.io/v1alpha1/namespaces/{ns}/schedules/nightly")["spec"]
    assert spec["timeZone"] == "Europe/Paris" and spec["retention"] == {"daily": 7, "floorCompleted": 3}
    assert spec["template"]["includeNamespaces"] == ["wp"] and spec["template"]["ttl"] == "720h"
    assert spec["template"]["snapshotVolumes"] is False
    assert spec["template"]["repoPasswordSecret"] == {"name": "repo", "key": "pw"}

    again = run("create", "nightly", "--schedule", "30 2 * * *")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = run("create", "bad", "--schedule", "0 25 * * *")
    assert bad.returncode == 2 and "hour" in bad.stderr

    assert run("pause", "nightly").returncode == 0
    listed = salvage(cluster.kubeconfig, "schedule", "get", "-n", ns, "-o", "json")
    assert [s["spec"]["paused"] for s in json.loads(listed.stdout)] == [True]
    assert run("unpause", "nightly").returncode == 0
    table = run("get")
    assert "nightly" in table.stdout and "Europe/Paris" in table.stdout
    described = run("describe", "nightly")
    assert "30 2 * * * (Europe/Paris)" in described.stdout and "Backups: 0" in described.stdout
    assert run("delete", "nightly").returncode == 0
    missing = run("describe", "nightly")
    assert missing.returncode == 1 and "no Schedule 'nightly'" in missing.stderr
