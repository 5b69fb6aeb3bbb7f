import httpx
import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.model.errors import KubernetesError


def client_answering(status: int) -> KubeClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"kind": "Status", "message": f"answered {status}"})
    return KubeClient(Connection(server="https://k8s.invalid", insecure=True), transport=httpx.MockTransport(handler))


def test_create_if_absent_tells_created_from_existing_and_raises_the_rest():
    assert client_answering(201).create_if_absent("/api/v1/namespaces", {}) is True
    assert client_answering(409).create_if_absent("/api/v1/namespaces", {}) is False
    with pytest.raises(KubernetesError, match="answered 403"):
        client_answering(403).create_if_absent("/api/v1/namespaces", {})


def test_delete_if_present_tells_deleted_from_gone_and_raises_the_rest():
    assert client_answering(200).delete_if_present("/api/v1/namespaces/x") is True
    assert client_answering(404).delete_if_present("/api/v1/namespaces/x") is False
    with pytest.raises(KubernetesError, match="answered 409"):
        client_answering(409).delete_if_present("/api/v1/namespaces/x")
