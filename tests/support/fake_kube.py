"""An in-memory API server behind httpx.MockTransport, for unit tests of code that uses KubeClient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection

JSON = dict[str, Any]


class FakeApi:
    """Objects by API path. GET an object or a collection (its direct children), POST, PUT,
    PATCH (a merge patch; of an object's ``status`` through ``/status``), DELETE;
    every request is recorded so a test can assert that nothing was written."""

    def __init__(self, objects: dict[str, JSON] | None = None) -> None:
        self.objects = dict(objects or {})
        self.requests: list[tuple[str, str]] = []

    def client(self) -> KubeClient:
        return KubeClient(Connection(server="https://kube.test", insecure=True),
                          transport=httpx.MockTransport(self._handle))

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        if request.method == "GET":
            if path in self.objects:
                return httpx.Response(200, json=self.objects[path])
            prefix = path + "/"
            items = [o for p, o in sorted(self.objects.items()) if p.startswith(prefix) and "/" not in p[len(prefix):]]
            if items or _is_collection(path):
                return httpx.Response(200, json={"kind": "List", "metadata": {}, "items": items})
            return _status(404, f"{path} not found")
        if request.method == "POST":
            body = json.loads(request.content)
            target = f"{path}/{body['metadata']['name']}"
            if target in self.objects:
                return _status(409, f"{target} already exists")
            self.objects[target] = body
            return httpx.Response(201, json=body)
        if request.method == "PATCH" and request.headers.get("content-type") == "application/merge-patch+json":
            target = path.removesuffix("/status")  # the status subresource: the object's status only
            if target not in self.objects:
                return _status(404, f"{path} not found")
            change = json.loads(request.content)
            if target != path:
                change = {"status": change.get("status")}
            self.objects[target] = _merged(self.objects[target], change)
            return httpx.Response(200, json=self.objects[target])
        if request.method == "PUT":
            if path not in self.objects:
                return _status(404, f"{path} not found")
            self.objects[path] = json.loads(request.content)
            return httpx.Response(200, json=self.objects[path])
        if request.method == "DELETE":
            if self.objects.pop(path, None) is None:
                return _status(404, f"{path} not found")
            return httpx.Response(200, json={"kind": "Status", "status": "Success"})
        return _status(405, f"{request.method} is not supported by the fake")


class ProvisioningApi(FakeApi):
    """Binds each new claim to a new hostPath PV under ``root`` at once, and removes the PV
    with its claim (reclaim policy Delete), as a provisioner would."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def _handle(self, request: httpx.Request) -> httpx.Response:
        response = super()._handle(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/persistentvolumeclaims") and response.status_code == 201:
            claim = json.loads(request.content)
            pv = f"pv-{claim['metadata']['name']}"
            (self.root / pv).mkdir()
            stored = self.objects[f"{path}/{claim['metadata']['name']}"]
            stored["spec"]["volumeName"] = pv
            stored["status"] = {"phase": "Bound"}
            self.objects[f"/api/v1/persistentvolumes/{pv}"] = {
                "metadata": {"name": pv},
                "spec": {"hostPath": {"path": str(self.root / pv)}, "persistentVolumeReclaimPolicy": "Delete"}}
        if request.method == "DELETE" and "/persistentvolumeclaims/" in path:
            self.objects.pop(f"/api/v1/persistentvolumes/pv-{path.rsplit('/', 1)[1]}", None)
        return response


def _merged(target: Any, patch: Any) -> Any:
    """A JSON merge patch (RFC 7386) applied: null removes a key, objects merge, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merged(out.get(key), value)
    return out


def _status(code: int, message: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "status": "Failure", "message": message, "code": code})


def _is_collection(path: str) -> bool:
    """``/api/v1/pods``, ``/api/v1/namespaces/ns/pods``, ``/apis/g/v/things``, ``/apis/g/v/namespaces/ns/things``."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    return len(rest) == 1 or (len(rest) == 3 and rest[0] == "namespaces")
