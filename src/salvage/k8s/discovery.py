"""Discover every API resource the server serves (CRDs included) at its preferred version."""

from __future__ import annotations

import json
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


# Aggregated discovery (Kubernetes 1.26+ beta, 1.30 GA): every group, version and resource
# in two answers (/api, /apis) instead of one request per group version. A server without
# it answers the plain documents, which are the first step of the per-group way anyway.
_AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
               "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")

# A group version and its resources, or None when they are to be fetched on their own.
_Found = tuple[str, str, "list[ApiResource] | None"]


def discover(client: KubeClient) -> Discovery:
    """Every top-level resource (no subresources) of every group's preferred version (every
    version of the core group).

    A group version the aggregated answer marks stale (an aggregated API server that did not
    answer it) is asked for on its own, as without aggregated discovery: it gives its
    resources, or a warning."""
    with ThreadPoolExecutor(2) as pool:
        core_doc, groups_doc = pool.map(lambda path: json.loads(client.get_bytes(path, accept=_AGGREGATED)),
                                        ("/api", "/apis"))
    found = _core_versions(core_doc) + _group_versions(groups_doc)
    warnings: list[str] = []

    def fetch(entry: _Found) -> list[ApiResource]:
        group, version, resources = entry
        if resources is not None:
            return resources
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

    if all(resources is not None for _g, _v, resources in found):
        return Discovery(tuple(r for _g, _v, resources in found for r in resources or ()), ())
    with ThreadPoolExecutor(8) as pool:
        every = [r for batch in pool.map(fetch, found) for r in batch]
    return Discovery(tuple(every), tuple(warnings))


def _core_versions(doc: JSON) -> list[_Found]:
    if doc.get("kind") != "APIGroupDiscoveryList":
        return [("", v, None) for v in doc.get("versions", ["v1"])]
    return [("", version["version"], _aggregated_resources("", version))
            for item in doc.get("items") or [] for version in item.get("versions") or []]


def _group_versions(doc: JSON) -> list[_Found]:
    found: list[_Found] = []
    if doc.get("kind") != "APIGroupDiscoveryList":
        for group in doc.get("groups", []):
            preferred = group.get("preferredVersion") or group["versions"][0]
            found.append((group["name"], preferred["version"], None))
        return found
    for item in doc.get("items") or []:
        versions = item.get("versions") or []
        if versions:  # in order of preference: the first is the preferred one
            name = (item.get("metadata") or {}).get("name") or ""
            found.append((name, versions[0]["version"], _aggregated_resources(name, versions[0])))
    return found


def _aggregated_resources(group: str, version: JSON) -> list[ApiResource] | None:
    """A version's resources from the aggregated answer; None if it is stale."""
    if version.get("freshness") == "Stale":
        return None
    return [
        ApiResource(group, version["version"], r["resource"], r["responseKind"]["kind"],
                    r.get("scope") == "Namespaced", frozenset(r.get("verbs") or ()), tuple(r.get("shortNames") or ()),
                    r.get("singularResource") or "")
        for r in version.get("resources") or []
        if (r.get("responseKind") or {}).get("kind")  # as client-go: one without a kind is not served
    ]
