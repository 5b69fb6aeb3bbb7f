"""The repository password read from a Kubernetes Secret (engines/password_secret.py)."""

from __future__ import annotations

import base64

import httpx
import pytest

from salvage.engines.password_secret import PasswordSecret, SecretRef
from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.model.errors import NotFoundError, UsageError
from salvage.repo.errors import PasswordMissingError, RepositoryError
from salvage.repo.password import password_source
from tests.support.fake_kube import FakeApi


def _secret(data: dict[str, bytes]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo-pw"},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


@pytest.mark.parametrize(("text", "expected"), [
    ("repo-pw", SecretRef("repo-pw", "password", None)),
    ("backup/repo-pw", SecretRef("repo-pw", "password", "backup")),
    ("backup/repo.pw:restic_PASS-1", SecretRef("repo.pw", "restic_PASS-1", "backup")),
    ("repo-pw:key", SecretRef("repo-pw", "key", None)),
])
def test_secret_references(text: str, expected: SecretRef) -> None:
    assert SecretRef.parse(text) == expected


@pytest.mark.parametrize("text", ["", "Repo", "a/b/c", "ns/", "/name", "name:", "name:k/ey", "-name"])
def test_malformed_secret_references_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="does not name a Secret") as info:
        SecretRef.parse(text)
    assert "[NAMESPACE/]NAME[:KEY]" in (info.value.hint or "")


def test_secret_in_the_contexts_namespace_by_default() -> None:
    api = FakeApi({"/api/v1/namespaces/default/secrets/repo-pw": _secret({"password": b"s3cret\n", "other": b"x"})})
    source = password_source(None, {}, secret=PasswordSecret(SecretRef.parse("repo-pw"), api.client))
    assert source.read() == "s3cret"
    assert api.writes == []


def test_secret_wins_over_the_environment() -> None:
    api = FakeApi({"/api/v1/namespaces/ops/secrets/repo-pw": _secret({"pw": b"from-secret"})})
    secret = PasswordSecret(SecretRef.parse("ops/repo-pw:pw"), api.client)
    assert password_source(None, {"SALVAGE_REPO_PASSWORD": "from-env"}, secret=secret).read() == "from-secret"


def test_missing_secret_names_it() -> None:
    secret = PasswordSecret(SecretRef.parse("ops/nope"), FakeApi().client)
    with pytest.raises(NotFoundError, match="Secret ops/nope does not exist") as info:
        secret.read()
    assert "kubectl -n ops create secret generic nope --from-file=password=" in (info.value.hint or "")


def test_missing_key_lists_the_keys_there_are() -> None:
    api = FakeApi({"/api/v1/namespaces/ops/secrets/repo-pw": _secret({"user": b"u", "pass": b"p"})})
    with pytest.raises(RepositoryError, match=r"no key 'password' .*\(its keys: pass, user\)") as info:
        PasswordSecret(SecretRef.parse("ops/repo-pw"), api.client).read()
    assert "--password-secret ops/repo-pw:KEY" in (info.value.hint or "")


def test_empty_value_is_refused() -> None:
    api = FakeApi({"/api/v1/namespaces/ops/secrets/repo-pw": _secret({"password": b"\n"})})
    with pytest.raises(PasswordMissingError, match="key 'password' of Secret ops/repo-pw is empty"):
        PasswordSecret(SecretRef.parse("ops/repo-pw"), api.client).read()


def test_forbidden_says_which_permission_is_missing() -> None:
    def forbid(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"kind": "Status", "code": 403, "message": 'secrets "repo-pw" is forbidden'})

    def connect() -> KubeClient:
        return KubeClient(Connection(server="https://kube.test", insecure=True), transport=httpx.MockTransport(forbid))

    with pytest.raises(RepositoryError, match="not allowed to read Secret ops/repo-pw") as info:
        PasswordSecret(SecretRef.parse("ops/repo-pw"), connect).read()
    assert "resourceNames [repo-pw], verbs [get]" in (info.value.hint or "")
