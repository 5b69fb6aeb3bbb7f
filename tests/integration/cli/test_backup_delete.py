"""``backup delete`` of CSI-snapshot and file-level backups: their snapshots and repository
data go; the application, its volumes and every other backup stay."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from salvage.devcluster.local_cluster import LocalCluster, shared_snapshot_root
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from salvage.repo import layout
from salvage.repo.check import check
from salvage.repo.snapshots import list_snapshots
from salvage.volumes import fs
from tests.integration.engines import workload
from tests.support.cli import salvage
from tests.support.volumes import SNAPSHOTS, volume_dir
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _volume(cluster: LocalCluster, backup: str) -> dict[str, Any]:
    described = salvage(cluster.kubeconfig, "-o", "json", "backup", "describe", backup)
    [volume] = json.loads(described.stdout)["volumes"]
    return dict(volume)


def _backups(cluster: LocalCluster) -> list[str]:
    return [b["name"] for b in json.loads(salvage(cluster.kubeconfig, "-o", "json", "backup", "get").stdout)]


def _claim_and_pv(kube: KubeClient, ns: str) -> tuple[str, str]:
    claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-pg-0")
    return claim["metadata"]["uid"], claim["spec"]["volumeName"]


def test_deleting_a_snapshot_backup_removes_its_snapshot_and_nothing_else(
        cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path) -> None:
    digest = workload.deploy(kube, ns)
    for name in ("kept", "gone"):
        assert salvage(cluster.kubeconfig, "backup", "create", name, "--include-namespaces", ns).returncode == 0
    kept, gone = _volume(cluster, "kept"), _volume(cluster, "gone")
    assert kept["method"] == gone["method"] == "csi-snapshot"
    live = _claim_and_pv(kube, ns)

    deleted = salvage(cluster.kubeconfig, "backup", "delete", "gone", "--yes")

    assert deleted.returncode == 0, deleted.stderr
    assert "1 volume snapshot(s)" in deleted.stderr
    wait_for(lambda: not kube.exists(f"{SNAPSHOTS}/volumesnapshotcontents/{gone['volumeSnapshotContent']}"),
             timeout=60, what="the deleted backup's VolumeSnapshotContent to go")
    wait_for(lambda: not (shared_snapshot_root() / gone["snapshotHandle"]).exists(), timeout=60,
             what="the deleted backup's snapshot data to go")
    assert _backups(cluster) == ["kept"]
    assert kube.exists(f"{SNAPSHOTS}/volumesnapshotcontents/{kept['volumeSnapshotContent']}")
    assert (shared_snapshot_root() / kept["snapshotHandle"]).is_dir(), "the other backup's snapshot stays"
    assert _claim_and_pv(kube, ns) == live and workload.digest_of(kube, ns) == digest, "the application stays"

    again = salvage(cluster.kubeconfig, "backup", "delete", "gone", "--yes")
    assert again.returncode == 1 and "There is no backup named 'gone'" in again.stderr


def test_deleting_an_fs_backup_removes_its_repository_snapshot_and_data(
        cluster: LocalCluster, kube: KubeClient, ns: str, salvage_home: Path, tmp_path: Path) -> None:
    password = tmp_path / "repo-password"
    password.write_text("correct horse battery staple\n")
    with_password = ["--repo-password-file", str(password)]
    first_digest = workload.deploy(kube, ns)
    fs_backup = ["--include-namespaces", ns, "--default-volumes-to-fs-backup", *with_password]
    assert salvage(cluster.kubeconfig, "backup", "create", "kept", *fs_backup).returncode == 0
    (volume_dir(kube, ns, "data-pg-0") / "only-in-the-second-backup").write_bytes(os.urandom(512 * 1024))
    current_digest = workload.digest_of(kube, ns)
    assert salvage(cluster.kubeconfig, "backup", "create", "gone", *fs_backup).returncode == 0
    kept, gone = _volume(cluster, "kept"), _volume(cluster, "gone")
    assert kept["method"] == gone["method"] == "fs"
    repo = fs.repository(open_location().store, "correct horse battery staple", create=False)

    def repository_bytes() -> int:
        return sum(info.size for info in repo.store.list(layout.DATA_PREFIX))

    before = repository_bytes()

    refused = salvage(cluster.kubeconfig, "backup", "delete", "gone", "--yes")
    assert refused.returncode == 2
    assert "needs the repository password. Nothing was deleted." in refused.stderr
    assert "--repo-password-file" in refused.stderr
    assert sorted(_backups(cluster)) == ["gone", "kept"]
    assert len(list_snapshots(repo)) == 2

    deleted = salvage(cluster.kubeconfig, "backup", "delete", "gone", "--yes", *with_password)

    assert deleted.returncode == 0, deleted.stderr
    assert "1 volume snapshot(s)" in deleted.stderr
    assert _backups(cluster) == ["kept"]
    assert [s.id for s in list_snapshots(repo)] == [kept["snapshotHandle"]]
    assert before - repository_bytes() >= 512 * 1024, "the data only the deleted backup held is gone"
    assert check(repo, read_data=True).ok
    assert workload.digest_of(kube, ns) == current_digest, "the live volume stays"

    copy = f"{ns}-copy"
    try:
        restored = salvage(cluster.kubeconfig, "restore", "create", "--from-backup", "kept",
                           "--namespace-mappings", f"{ns}:{copy}", *with_password)
        assert restored.returncode == 0, restored.stderr
        workload.wait_ready(kube, copy)
        assert workload.digest_of(kube, copy) == first_digest, "the other backup still restores"
    finally:
        if kube.exists(f"/api/v1/namespaces/{copy}"):
            kube.delete(f"/api/v1/namespaces/{copy}")
