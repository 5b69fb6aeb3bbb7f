"""Backups on every location provider; a read-only location across clusters; damaged backups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salvage.catalog.reader import CorruptBackupError
from salvage.devcluster.local_cluster import LocalCluster
from salvage.engines.backup_restore import RestoreRequest, restore_backup
from salvage.k8s.client import KubeClient
from salvage.locations import LocationSpec, open_location, save_location
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage, cli_for
from tests.support.builders import namespace

pytestmark = pytest.mark.integration


def _small_app(kube: KubeClient, ns: str) -> None:
    for i in range(3):
        kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})


def _configmaps(kube: KubeClient, ns: str) -> dict[str, Any]:
    return {c["metadata"]["name"]: c["data"] for c in kube.list(f"/api/v1/namespaces/{ns}/configmaps")
            if c["metadata"]["name"] != "kube-root-ca.crt"}


@pytest.fixture(params=["filesystem", "s3", "azure", "gcs"])
def location_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    provider = request.param
    if provider == "filesystem":
        return ["--provider", "filesystem", "--path", str(tmp_path / "backups")]
    if provider == "s3":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        return ["--provider", "s3", "--bucket", bucket, "--prefix", "salvage", "--endpoint", server.endpoint,
                "--region", server.region, *_creds(server.credentials)]
    if provider == "azure":
        server, container = request.getfixturevalue("azure_server"), request.getfixturevalue("azure_container")
        return ["--provider", "azure", "--bucket", container, "--endpoint", server.endpoint,
                *_creds(server.credentials)]
    server, bucket = request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_bucket")
    return ["--provider", "gcs", "--bucket", bucket, "--endpoint", server.endpoint, *_creds(server.credentials)]


def _creds(credentials: dict[str, str]) -> list[str]:
    return [arg for key, value in credentials.items() for arg in ("--credential", f"{key}={value}")]


def test_backup_and_restore_on_each_provider(kube: KubeClient, ns: str, salvage: Salvage,
                                             location_args: list[str]) -> None:
    _small_app(kube, ns)
    before = _configmaps(kube, ns)
    salvage("location", "add", "target", *location_args)
    check = salvage("location", "check", "target")
    assert "FAILED" not in check.stdout
    salvage("backup", "create", "b1", "--include-namespaces", ns, "--location", "target")
    listed = json.loads(salvage("-o", "json", "backup", "get", "--location", "target").stdout)
    assert [(b["name"], b["phase"]) for b in listed] == [("b1", "Completed")]
    workload.delete_namespace(kube, ns)
    salvage("restore", "create", "--from-backup", "b1", "--location", "target")
    assert _configmaps(kube, ns) == before


def test_migration_to_another_cluster_through_a_read_only_location(
        kube: KubeClient, ns: str, salvage: Salvage, second_cluster: LocalCluster,
        s3_server: Any, s3_bucket: str) -> None:
    digest = workload.deploy(kube, ns)
    before = workload.comparable(kube, ns)
    s3 = ["--provider", "s3", "--bucket", s3_bucket, "--endpoint", s3_server.endpoint,
          "--region", s3_server.region, *_creds(s3_server.credentials)]
    salvage("location", "add", "shared", *s3)
    salvage("backup", "create", "move-me", "--include-namespaces", ns, "--location", "shared")

    # Cluster B sees the same bucket, read-only, as Ark's restore-only location in seed 001.
    spec = LocationSpec(name="shared-ro", provider="s3", bucket=s3_bucket, endpoint=s3_server.endpoint,
                        region=s3_server.region, access_mode="ReadOnly", credentials=s3_server.credentials)
    save_location(spec)
    location = open_location("shared-ro")
    with second_cluster.client() as other:
        report = restore_backup(other, location, RestoreRequest(name="migrate", backup="move-me"))
        assert report.phase == "Completed", report.to_json()
        workload.wait_ready(other, ns)
        assert workload.comparable(other, ns) == before
        assert workload.digest_of(other, ns) == digest
        other.delete(f"/api/v1/namespaces/{ns}")
    assert location.store.counts.writes == 0, "a ReadOnly location is never written"
    assert location.store.counts.gets > 0

    refused = cli_for(second_cluster)("backup", "create", "nope", "--location", "shared-ro", check=False)
    assert refused.returncode != 0 and "ReadOnly" in refused.stderr


def test_a_damaged_backup_is_refused_before_anything_changes(
        kube: KubeClient, ns: str, salvage: Salvage, tmp_path: Path) -> None:
    _small_app(kube, ns)
    salvage("location", "add", "fs", "--path", str(tmp_path / "fs"))
    salvage("backup", "create", "damaged", "--include-namespaces", ns, "--location", "fs")
    victim = next((tmp_path / "fs" / "backups" / "damaged" / "resources").glob("configmaps.*"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    copy = f"{ns}-never"

    result = salvage("restore", "create", "--from-backup", "damaged", "--location", "fs",
                     "--namespace-mappings", f"{ns}:{copy}", check=False)
    assert result.returncode == 1
    assert f"resources/{victim.name} does not match its checksum" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert not kube.exists(f"/api/v1/namespaces/{copy}")

    victim.unlink()
    with pytest.raises(CorruptBackupError, match=f"{victim.name} is missing"):
        restore_backup(kube, open_location("fs"), RestoreRequest(name="x", backup="damaged"))


def test_bad_input_is_refused_with_a_clear_message(kube: KubeClient, ns: str, salvage: Salvage) -> None:
    _small_app(kube, ns)
    unknown = salvage("restore", "create", "--from-backup", "no-such-backup", check=False)
    assert unknown.returncode == 1 and "There is no backup named 'no-such-backup'" in unknown.stderr
    no_location = salvage("backup", "get", "--location", "nowhere", check=False)
    assert "There is no backup location named 'nowhere'" in no_location.stderr
    missing_ns = salvage("backup", "create", "ghost", "--include-namespaces", "no-such-ns", check=False)
    assert missing_ns.returncode == 1 and "no-such-ns do not exist" in missing_ns.stderr
    assert json.loads(salvage("-o", "json", "backup", "get").stdout) == [], "nothing written"

    salvage("backup", "create", "good", "--include-namespaces", ns)
    twice = salvage("backup", "create", "good", "--include-namespaces", ns, check=False)
    assert "already exists" in twice.stderr
    kube.create("/api/v1/namespaces", namespace(f"{ns}-taken"))
    try:
        taken = salvage("restore", "create", "--from-backup", "good",
                        "--namespace-mappings", f"{ns}:{ns}-taken", check=False)
        assert taken.returncode == 2 and f"Namespace '{ns}-taken' (mapped from '{ns}') already exists" in taken.stderr
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}-taken")
    for result in (unknown, no_location, missing_ns, twice):
        assert "Traceback" not in result.stderr
