"""Connection settings: a kubeconfig, or a pod's own ServiceAccount."""

from __future__ import annotations

import pytest

from salvage.model.errors import UsageError


def test_in_a_pod_without_a_kubeconfig_the_service_account_is_used(tmp_path, monkeypatch) -> None:
    from salvage.k8s import kubeconfig

    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("pod-token\n")
    (sa / "ca.crt").write_text("CA")
    (sa / "namespace").write_text("backup")
    monkeypatch.setattr(kubeconfig, "SERVICE_ACCOUNT_DIR", sa)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    connection = kubeconfig.load_connection()

    assert connection.server == "https://10.0.0.1:443"
    assert (connection.token, connection.namespace, connection.context) == ("pod-token", "backup", "in-cluster")
    assert connection.ca_file == str(sa / "ca.crt")


def test_outside_a_pod_a_missing_kubeconfig_is_still_an_error(tmp_path, monkeypatch) -> None:
    from salvage.k8s import kubeconfig

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UsageError, match="does not exist"):
        kubeconfig.load_connection()
