"""Discovery asks for the aggregated documents (two requests) and reads the same resources
from them as from one request per group version; a stale group version, or a server
without aggregated discovery, is asked for the old way."""

from __future__ import annotations

from typing import Any

import httpx

from salvage.k8s.client import KubeClient
from salvage.k8s.discovery import discover
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.retry import NO_RETRY

JSON = dict[str, Any]
VERBS = ["create", "delete", "get", "list"]


def _legacy() -> dict[str, JSON]:
    return {
        "/api": {"kind": "APIVersions", "versions": ["v1"]},
        "/apis": {"kind": "APIGroupList", "groups": [
            {"name": "apps", "versions": [{"version": "v1"}], "preferredVersion": {"version": "v1"}},
            {"name": "metrics.k8s.io", "versions": [{"version": "v1beta1"}],
             "preferredVersion": {"version": "v1beta1"}}]},
        "/api/v1": {"resources": [
            {"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": VERBS, "singularName": "configmap",
             "shortNames": ["cm"]},
            {"name": "pods/log", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
            {"name": "namespaces", "kind": "Namespace", "namespaced": False, "verbs": VERBS, "shortNames": ["ns"]}]},
        "/apis/apps/v1": {"resources": [{"name": "statefulsets", "kind": "StatefulSet", "namespaced": True,
                                         "verbs": VERBS, "singularName": "statefulset", "shortNames": ["sts"]}]},
        "/apis/metrics.k8s.io/v1beta1": {"resources": [{"name": "pods", "kind": "PodMetrics", "namespaced": True,
                                                        "verbs": ["get", "list"], "singularName": ""}]},
    }


def _resource(name: str, kind: str, scope: str, verbs: list[str], singular: str = "", short: list[str] | None = None,
              subresources: list[JSON] | None = None) -> JSON:
    return {"resource": name, "responseKind": {"group": "", "version": "", "kind": kind}, "scope": scope,
            "singularResource": singular, "verbs": verbs, **({"shortNames": short} if short else {}),
            **({"subresources": subresources} if subresources else {})}


def _aggregated(metrics_freshness: str = "Current") -> dict[str, JSON]:
    return {
        "/api": {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
            {"metadata": {}, "versions": [{"version": "v1", "freshness": "Current", "resources": [
                _resource("configmaps", "ConfigMap", "Namespaced", VERBS, "configmap", ["cm"]),
                _resource("namespaces", "Namespace", "Cluster", VERBS, "", ["ns"],
                          [{"subresource": "status", "verbs": ["get"]}]),
                {"resource": "bindings", "scope": "Namespaced", "verbs": ["create"]}]}]}]},
        "/apis": {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
            {"metadata": {"name": "apps"}, "versions": [
                {"version": "v1", "freshness": "Current", "resources": [
                    _resource("statefulsets", "StatefulSet", "Namespaced", VERBS, "statefulset", ["sts"])]},
                {"version": "v1beta9", "freshness": "Current", "resources": [
                    _resource("old", "Old", "Namespaced", VERBS)]}]},
            {"metadata": {"name": "metrics.k8s.io"}, "versions": [
                {"version": "v1beta1", "freshness": metrics_freshness, "resources": [] if metrics_freshness == "Stale"
                 else [_resource("pods", "PodMetrics", "Namespaced", ["get", "list"])]}]}]},
    }


class Server:
    def __init__(self, aggregated: bool, metrics_freshness: str = "Current", metrics_status: int = 200) -> None:
        self.docs = {**_legacy(), **(_aggregated(metrics_freshness) if aggregated else {})}
        self.metrics_status = metrics_status
        self.requests: list[str] = []

    def client(self) -> KubeClient:
        return KubeClient(Connection(server="https://kube.test", insecure=True),
                          transport=httpx.MockTransport(self.handle), retry=NO_RETRY)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(path)
        if path in ("/api", "/apis"):
            assert "g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" in request.headers["accept"]
        if path.startswith("/apis/metrics.k8s.io") and self.metrics_status != 200:
            return httpx.Response(self.metrics_status, json={"kind": "Status", "message": "service unavailable"})
        return httpx.Response(200, json=self.docs[path])


def _shape(server: Server) -> tuple[set[tuple[Any, ...]], tuple[str, ...]]:
    found = discover(server.client())
    return {(r.group, r.version, r.resource, r.kind, r.namespaced, r.verbs, r.short_names) for r in found.resources}, \
        found.warnings


def test_aggregated_discovery_is_two_requests_and_finds_what_per_group_discovery_finds() -> None:
    aggregated, legacy = Server(aggregated=True), Server(aggregated=False)
    assert _shape(aggregated) == _shape(legacy)
    assert sorted(aggregated.requests) == ["/api", "/apis"]
    assert sorted(legacy.requests) == ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/apis/metrics.k8s.io/v1beta1"]
    found = discover(Server(aggregated=True).client())
    assert found.find("cm") and found.find("sts") and found.find("old") is None  # the preferred version only
    assert found.by_group_resource("", "namespaces").singular == ""  # type: ignore[union-attr]
    assert found.by_group_resource("", "configmaps").singular == "configmap"  # type: ignore[union-attr]


def test_a_stale_group_version_is_asked_for_on_its_own_and_warns_if_it_still_fails() -> None:
    server = Server(aggregated=True, metrics_freshness="Stale", metrics_status=503)
    resources, warnings = _shape(server)
    assert sorted(server.requests) == ["/api", "/apis", "/apis/metrics.k8s.io/v1beta1"]
    assert warnings == ("API group metrics.k8s.io/v1beta1 could not be discovered: "
                        "GET /apis/metrics.k8s.io/v1beta1: service unavailable",)
    assert {r[2] for r in resources} == {"configmaps", "namespaces", "statefulsets"}
    recovered = Server(aggregated=True, metrics_freshness="Stale")
    assert _shape(recovered) == _shape(Server(aggregated=False))
