"""The repository password read from a Kubernetes Secret on the real cluster, as the only source."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.integration.engines import workload
from tests.integration.engines.conftest import Salvage
from tests.support.volumes import tree_digest

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


def _create_secret(kube: KubeClient, namespace: str, name: str, data: dict[str, bytes]) -> None:
    kube.create(f"/api/v1/namespaces/{namespace}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()}})


@pytest.fixture
def no_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SALVAGE_REPO_PASSWORD", "SALVAGE_REPO_PASSWORD_FILE", "SALVAGE_REPO_PASSWORD_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ops_ns(kube: KubeClient, ns: str) -> Iterator[str]:
    """Where the password Secret lives: not in the namespace that is backed up and deleted."""
    name = f"{ns}-ops"
    kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


def _source(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "data.bin").write_bytes(os.urandom(200_000))
    (root / "notes.txt").write_text("kept\n")
    os.setxattr(root / "notes.txt", "user.origin", b"integration")
    return root


def test_fs_backup_and_restore_with_the_password_only_in_a_secret(
        kube: KubeClient, ns: str, cluster: LocalCluster, salvage: Salvage, tmp_path: Path,
        no_password_env: None) -> None:
    _create_secret(kube, ns, "repo-pw", {"password": f"{PASSWORD}\n".encode()})
    # A kubeconfig whose context names the namespace: a Secret given without one is looked up there.
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = ns
    in_ns = tmp_path / "kubeconfig-in-ns"
    in_ns.write_text(yaml.safe_dump(config))
    source, repo, out = _source(tmp_path / "src"), str(tmp_path / "repo"), tmp_path / "out"

    salvage("--kubeconfig", str(in_ns), "repo", "init", "--repo", repo, "--password-secret", "repo-pw")
    salvage("--kubeconfig", str(in_ns), "fs", "backup", str(source), "--repo", repo, "--password-secret", "repo-pw")
    salvage("fs", "restore", "latest", "--target", str(out), "--repo", repo,
            "--password-secret", f"{ns}/repo-pw:password")

    assert tree_digest(out) == tree_digest(source)
    assert os.getxattr(out / "notes.txt", "user.origin") == b"integration"
    # The Secret's value is the password (less its newline): the same password from a file opens the repository.
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD)
    listed = salvage("-o", "json", "repo", "snapshots", "--repo", repo, "--password-file", str(password_file))
    assert len(json.loads(listed.stdout)) == 1


@pytest.mark.parametrize(("secret", "data", "code", "message"), [
    ("absent", None, 1, "Secret {ns}/absent does not exist"),
    ("repo-pw:passphrase", {"password": b"x", "user": b"y"},
     1, "Secret {ns}/repo-pw has no key 'passphrase' for the repository password (its keys: password, user)"),
    ("repo-pw", {"password": b""}, 2, "key 'password' of Secret {ns}/repo-pw is empty"),
])
def test_bad_secrets_are_refused_and_nothing_is_created(
        kube: KubeClient, ns: str, salvage: Salvage, tmp_path: Path, no_password_env: None,
        secret: str, data: dict[str, bytes] | None, code: int, message: str) -> None:
    if data is not None:
        _create_secret(kube, ns, "repo-pw", data)
    repo = tmp_path / "repo"
    result = salvage("repo", "init", "--repo", str(repo), "--password-secret", f"{ns}/{secret}", check=False)
    assert result.returncode == code, result.stderr
    assert message.format(ns=ns) in result.stderr
    assert "Traceback" not in result.stderr
    assert not repo.exists()


def test_a_user_who_may_not_read_the_secret_is_told_so(
        kube: KubeClient, ns: str, cluster: LocalCluster, salvage: Salvage, tmp_path: Path,
        no_password_env: None) -> None:
    _create_secret(kube, ns, "repo-pw", {"password": PASSWORD.encode()})
    repo = tmp_path / "repo"
    result = salvage("--kubeconfig", str(cluster.limited_kubeconfig), "repo", "init", "--repo", str(repo),
                     "--password-secret", f"{ns}/repo-pw", check=False)
    assert result.returncode == 1
    assert f"not allowed to read Secret {ns}/repo-pw" in result.stderr
    assert "salvage-limited" in result.stderr  # the API server's reason names the user
    assert "resourceNames [repo-pw], verbs [get]" in result.stderr
    assert not repo.exists()


def test_volume_backup_and_restore_with_the_password_only_in_a_secret(
        kube: KubeClient, ns: str, ops_ns: str, salvage: Salvage, no_password_env: None) -> None:
    _create_secret(kube, ops_ns, "repo-pw", {"password": PASSWORD.encode()})
    digest = workload.deploy(kube, ns)
    secret = ("--repo-password-secret", f"{ops_ns}/repo-pw")
    salvage("backup", "create", "by-secret", "--include-namespaces", ns, "--default-volumes-to-fs-backup", *secret)
    described = json.loads(salvage("-o", "json", "backup", "describe", "by-secret").stdout)
    assert [v["method"] for v in described["volumes"]] == ["fs"]

    workload.delete_namespace(kube, ns)
    salvage("restore", "create", "--from-backup", "by-secret", *secret)

    workload.wait_ready(kube, ns)
    assert workload.digest_of(kube, ns) == digest, "the files came back through the repository"
