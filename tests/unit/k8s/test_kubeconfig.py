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


def _kubeconfig(path, name: str, *, current: bool = True, server: str = "") -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / f"{name}-ca.crt").write_text("CA")
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", **({"current-context": name} if current else {}),
        "clusters": [{"name": name, "cluster": {"server": server or f"https://{name}:6443",
                                                "certificate-authority": f"{name}-ca.crt"}}],
        "users": [{"name": name, "user": {"token": f"{name}-token"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }))


def test_a_kubeconfig_list_is_merged_as_kubectl_merges_it(tmp_path, monkeypatch) -> None:
    from salvage.k8s import kubeconfig

    first, second = tmp_path / "a" / "config", tmp_path / "b" / "config"
    _kubeconfig(first, "east")
    _kubeconfig(second, "west")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{first}:{second}")

    east = kubeconfig.load_connection()  # the first file that sets current-context wins
    west = kubeconfig.load_connection(context="west")

    assert (east.server, east.token, east.ca_file) == ("https://east:6443", "east-token", str(first.parent / "east-ca.crt"))
    assert (west.server, west.token) == ("https://west:6443", "west-token")
    assert west.ca_file == str(second.parent / "west-ca.crt"), "relative to the file that names it"
    _kubeconfig(second, "east", server="https://shadowed:6443")
    assert kubeconfig.load_connection(context="east").server == "https://east:6443", "the first name wins"
    with pytest.raises(UsageError, match="Context 'north' is not in kubeconfig"):
        kubeconfig.load_connection(context="north")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'x'}:{tmp_path / 'y'}")
    with pytest.raises(UsageError, match="None of the kubeconfig files"):
        kubeconfig.load_connection()
