"""`salvage statefulset clone` and `rotate` on the real local cluster (seed 002)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import Salvage
from tests.integration.engines.statefulset import snapshots
from tests.integration.engines.statefulset import stateful_app as app
from tests.support.builders import statefulset
from tests.support.volumes import volume_dir

pytestmark = pytest.mark.integration


def _files(kube: KubeClient, ns: str, name: str, replicas: int) -> list[str]:
    return [(volume_dir(kube, ns, f"data-{name}-{o}") / "file.txt").read_text() for o in range(replicas)]


def test_clone_three_replicas_from_one_snapshot(kube: KubeClient, ns: str, salvage: Salvage, tmp_path: Path) -> None:
    snapshots.producer(kube, ns, "Hello World!")
    snapshots.snapshot(kube, ns, "data-2021-07-15")
    manifest = app.write_manifest(tmp_path / "consumer.yaml", [statefulset("consumer", template="data")])

    out = salvage("statefulset", "clone", "--snapshot", "data-2021-07-15", "--to", "consumer-2021-07-15",
                  "-n", ns, "--replicas", "3", "--from-manifest", str(manifest), "--timeout", "90")

    assert out.stdout.strip() == "consumer-2021-07-15"
    app.wait_running(kube, ns, "consumer-2021-07-15", 3, template="data")
    assert _files(kube, ns, "consumer-2021-07-15", 3) == ["Hello World!"] * 3
    again = salvage("statefulset", "clone", "--snapshot", "data-2021-07-15", "--to", "consumer-2021-07-15",
                    "-n", ns, "--from-manifest", str(manifest), check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    absent = salvage("statefulset", "clone", "--snapshot", "nope", "--to", "c2", "-n", ns,
                     "--from-statefulset", "consumer-2021-07-15", check=False)
    assert absent.returncode == 1 and "no VolumeSnapshot 'nope'" in absent.stderr


def test_rotate_to_a_newer_snapshot(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    _consumer(kube, ns, salvage)
    snapshots.producer(kube, ns, "updated files")
    snapshots.snapshot(kube, ns, "data-2021-07-16")

    report = json.loads(salvage("-o", "json", "statefulset", "rotate", "consumer", "-n", ns,
                                "--to-snapshot", "data-2021-07-16", "--delete-old-snapshot",
                                "--timeout", "90").stdout)

    assert report["new"] == "consumer-r2" and report["oldSnapshot"] == "data-2021-07-15"
    assert report["removedClaims"] == ["data-consumer-0", "data-consumer-1"]
    assert report["deletedSnapshot"] == "data-2021-07-15"
    app.wait_running(kube, ns, "consumer-r2", 2, template="data")
    assert _files(kube, ns, "consumer-r2", 2) == ["updated files"] * 2
    new = kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/consumer-r2")
    assert new["spec"]["serviceName"] == "consumer", "the successor keeps the Service"
    assert not kube.exists(f"/apis/apps/v1/namespaces/{ns}/statefulsets/consumer")
    assert not kube.exists(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-consumer-0")
    assert not kube.exists(f"{snapshots.SNAPSHOTS}/namespaces/{ns}/volumesnapshots/data-2021-07-15")
    # The successor remembers its lineage: the next rotation is r3.
    snapshots.snapshot(kube, ns, "data-2021-07-17")
    third = salvage("statefulset", "rotate", "consumer-r2", "-n", ns, "--to-snapshot", "data-2021-07-17",
                    "--timeout", "90")
    assert third.stdout.strip() == "consumer-r3"


def test_rotate_rolls_back_when_the_successor_is_never_ready(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    _consumer(kube, ns, salvage)
    before = _state(kube, ns)
    snapshots.snapshot(kube, ns, "broken")
    snapshots.lose_snapshot_data(kube, ns, "broken")

    out = salvage("statefulset", "rotate", "consumer", "-n", ns, "--to-snapshot", "broken", "--timeout", "20",
                  check=False)

    assert out.returncode == 1
    assert "consumer-r2 did not become ready within 20s" in out.stderr and "consumer is untouched" in out.stderr
    assert "is missing on disk" in out.stderr, out.stderr  # the reason comes from the claim's events
    assert not kube.exists(f"/apis/apps/v1/namespaces/{ns}/statefulsets/consumer-r2")
    claims = {c["metadata"]["name"] for c in kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")}
    assert not any(c.startswith("data-consumer-r2-") for c in claims)
    assert _state(kube, ns) == before
    app.wait_running(kube, ns, "consumer", 2, template="data")


def _consumer(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    """The consumer of seed 002: 2 replicas from the first snapshot, behind Service `consumer`."""
    snapshots.producer(kube, ns, "Hello World!")
    snapshots.snapshot(kube, ns, "data-2021-07-15")
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", statefulset("producer-shape", service="consumer", template="data"))
    salvage("statefulset", "clone", "--snapshot", "data-2021-07-15", "--to", "consumer", "-n", ns,
            "--replicas", "2", "--from-statefulset", "producer-shape", "--timeout", "90")
    kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/producer-shape")


def _state(kube: KubeClient, ns: str) -> dict[str, object]:
    sts = kube.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/consumer")
    claims = {c["metadata"]["name"]: (c["metadata"]["uid"], c["spec"].get("volumeName"))
              for c in kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")
              if c["metadata"]["name"].startswith("data-consumer-")}
    return {"uid": sts["metadata"]["uid"], "generation": sts["metadata"]["generation"], "spec": sts["spec"],
            "claims": claims}
