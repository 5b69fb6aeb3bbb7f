"""Which namespaces and resources a request selects (shared by backup and restore)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from salvage.k8s.discovery import ApiResource

# Never backed up unless asked for by name: noise, or owned by the cluster itself.
DEFAULT_EXCLUDED = frozenset({"events", "events.events.k8s.io", "nodes", "leases.coordination.k8s.io",
                              "endpointslices.discovery.k8s.io", "endpoints"})


@dataclass(frozen=True)
class Selection:
    include_namespaces: tuple[str, ...] = ("*",)
    exclude_namespaces: tuple[str, ...] = ()
    include_resources: tuple[str, ...] = ("*",)
    exclude_resources: tuple[str, ...] = ()

    def namespace(self, name: str) -> bool:
        return _any(self.include_namespaces, name) and not _any(self.exclude_namespaces, name)

    def resource(self, resource: ApiResource) -> bool:
        named = [r for r in self.include_resources if r != "*"]
        if any(resource.matches(r) for r in self.exclude_resources):
            return False
        if named:
            return any(resource.matches(r) for r in named)
        return resource.qualified not in DEFAULT_EXCLUDED

    def resource_named(self, group: str, resource: str, kind: str) -> bool:
        """The same rule for a resource known only from a backup's manifest."""
        fake = ApiResource(group, "", resource, kind, True, frozenset())
        return self.resource(fake)


def _any(patterns: tuple[str, ...], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def label_selector_matches(labels: dict[str, str], selector: str | None) -> bool:
    """kubectl's label selector syntax: ``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``."""
    if not selector:
        return True
    for term in _split_terms(selector):
        if not _term_matches(labels, term.strip()):
            return False
    return True


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    return [t for t in [*terms, current] if t.strip()]


def _term_matches(labels: dict[str, str], term: str) -> bool:
    for op in (" notin ", " in "):
        if op in term:
            key, values = term.split(op, 1)
            options = {v.strip() for v in values.strip().strip("()").split(",")}
            present = labels.get(key.strip()) in options
            return present if op == " in " else not present
    if "!=" in term:
        key, value = term.split("!=", 1)
        return labels.get(key.strip()) != value.strip()
    if "=" in term:
        key, value = term.replace("==", "=").split("=", 1)
        return labels.get(key.strip()) == value.strip()
    if term.startswith("!"):
        return term[1:].strip() not in labels
    return term in labels
