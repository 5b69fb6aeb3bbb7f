"""File-level volume backup: the data itself goes into the location's repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage, cli_for

pytestmark = pytest.mark.integration


def test_fs_backup_moves_the_data_to_another_cluster(
        kube: KubeClient, ns: str, salvage: Salvage, second_cluster: LocalCluster,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: Any, s3_bucket: str) -> None:
    monkeypatch.setenv("SALVAGE_REPO_PASSWORD", "correct horse battery staple")
    digest = workload.deploy(kube, ns)
    creds = [a for k, v in s3_server.credentials.items() for a in ("--credential", f"{k}={v}")]
    s3 = ["--provider", "s3", "--bucket", s3_bucket, "--endpoint", s3_server.endpoint, "--region", s3_server.region]
    salvage("location", "add", "s3rw", *s3, *creds)
    salvage("backup", "create", "files", "--include-namespaces", ns, "--location", "s3rw",
            "--default-volumes-to-fs-backup")
    described = json.loads(salvage("-o", "json", "backup", "describe", "files", "--location", "s3rw").stdout)
    [volume] = described["volumes"]
    assert volume["method"] == "fs" and volume["restoreSize"] > 256 * 1024

    other = cli_for(second_cluster)
    salvage("location", "add", "s3ro", *s3, *creds, "--access-mode", "ReadOnly")
    restored = other("restore", "create", "--from-backup", "files", "--location", "s3ro")
    assert restored.returncode == 0
    with second_cluster.client() as b:
        try:
            workload.wait_ready(b, ns)
            assert workload.digest_of(b, ns) == digest, "the files arrived byte for byte"
        finally:
            b.delete(f"/api/v1/namespaces/{ns}")


def test_fs_backup_without_a_password_is_refused_before_anything(
        kube: KubeClient, ns: str, salvage: Salvage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALVAGE_REPO_PASSWORD", raising=False)
    result = salvage("backup", "create", "nopw", "--include-namespaces", ns, "--default-volumes-to-fs-backup",
                     check=False)
    assert result.returncode == 2
    assert "needs the repository password" in result.stderr and "SALVAGE_REPO_PASSWORD" in result.stderr
    assert json.loads(salvage("-o", "json", "backup", "get").stdout) == []
