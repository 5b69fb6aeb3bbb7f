"""Discover every API resource the server serves (CRDs included) at its preferred version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from salvage.k8s.client import JSON, KubeClient
from salvage.model.errors import KubernetesError


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    resource: str  # plural
    kind: str
    namespaced: bool
    verbs: frozenset[str]
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``configmaps`` for the core group, ``statefulsets.apps`` otherwise (kubectl's form)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def matches(self, name: str) -> bool:
        """Whether a user's word (plural, singular, kind, short name, optionally .group) names this."""
        word, _, group = name.lower().partition(".")
        if group and group != self.group:
            return False
        return word in {self.resource, self.singular, self.kind.lower(), *self.short_names}

    def collection(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace)}/{self.resource}"
        return f"{base}/{self.resource}"

    def item(self, name: str, namespace: str | None = None) -> str:
        return f"{self.collection(namespace)}/{quote(name)}"


@dataclass(frozen=True)
class Discovery:
    resources: tuple[ApiResource, ...]
    warnings: tuple[str, ...]

    def find(self, name: str) -> ApiResource | None:
        for resource in self.resources:
            if resource.matches(name):
                return resource
        return None

    def by_group_resource(self, group: str, resource: str) -> ApiResource | None:
        for candidate in self.resources:
            if candidate.group == group and candidate.resource == resource:
                return candidate
        return None


def discover(client: KubeClient) -> Discovery:
    """Every top-level resource (no subresources) of every group's preferred version."""
    versions = [("", v) for v in client.get("/api").get("versions", ["v1"])]
    for group in client.get("/apis").get("groups", []):
        preferred = group.get("preferredVersion") or group["versions"][0]
        versions.append((group["name"], preferred["version"]))
    warnings: list[str] = []

    def fetch(gv: tuple[str, str]) -> list[ApiResource]:
        group, version = gv
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc: JSON = client.get(path)
        except KubernetesError as exc:
            if exc.status is None:  # the API server itself is out of reach: nothing else will answer
                raise
            # An unavailable aggregated API (an HTTP error) must not stop a backup of everything else.
            warnings.append(f"API group {group or 'core'}/{version} could not be discovered: {exc.message}")
            return []
        return [
            ApiResource(group, version, r["name"], r["kind"], bool(r.get("namespaced")),
                        frozenset(r.get("verbs") or ()), tuple(r.get("shortNames") or ()), r.get("singularName") or "")
            for r in doc.get("resources", []) if "/" not in r["name"]
        ]

    with ThreadPoolExecutor(8) as pool:
        found = [r for batch in pool.map(fetch, versions) for r in batch]
    return Discovery(tuple(found), tuple(warnings))
