"""On the real API server: aggregated discovery (two requests) finds exactly what one request
per group version finds, and a backup's listing keeps each item's JSON as the server sent it,
the same items as a plain list, page after page."""

from __future__ import annotations

import json

import pytest

from salvage.k8s import discovery
from salvage.k8s.client import KubeClient
from salvage.k8s.listing import list_objects


def _shape(found: discovery.Discovery) -> set[tuple[object, ...]]:
    return {(r.group, r.version, r.resource, r.kind, r.namespaced, r.verbs, r.short_names, r.singular)
            for r in found.resources}


def test_aggregated_discovery_finds_what_per_group_discovery_finds(kube: KubeClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    kube.http.event_hooks["request"].append(lambda request: asked.append(request.url.path))
    try:
        aggregated = discovery.discover(kube)
        paths = list(asked)
        # What an older server answers (and what Salvage asked for before): one request each.
        monkeypatch.setattr(discovery, "_AGGREGATED", "application/json")
        asked.clear()
        per_group = discovery.discover(kube)
    finally:
        kube.http.event_hooks["request"].pop()
    assert sorted(paths) == ["/api", "/apis"]
    assert len(asked) > 20
    assert _shape(aggregated) == _shape(per_group) and aggregated.warnings == per_group.warnings == ()
    for word in ("cm", "events", "sts", "deploy", "pvc", "storageclasses", "crd", "leases"):
        assert aggregated.find(word) == per_group.find(word), word


def test_listing_keeps_the_servers_json_and_finds_every_item_page_after_page(kube: KubeClient, ns: str) -> None:
    for i in range(5):
        kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "labels": {"n": str(i)}},
            "data": {"text": "déjà vu \u2028 \"quoted\"\nline", "number-like": "1.50"}})
    path = f"/api/v1/namespaces/{ns}/configmaps"
    plain = list(kube.list(path, limit=2))
    listed = list(list_objects(kube, path, api_version="v1", kind="ConfigMap", limit=2))
    assert [obj for obj, _text in listed] == [{**item, "apiVersion": "v1", "kind": "ConfigMap"} for item in plain]
    ours = [(obj, text) for obj, text in listed if obj["metadata"]["name"].startswith("cm-")]
    assert len(ours) == 5 and len(listed) == 6  # and the namespace's kube-root-ca.crt
    for obj, text in listed:
        assert "\n" not in text and json.loads(text) == obj
        assert text.startswith('{"apiVersion":"v1","kind":"ConfigMap","metadata":{')
    assert all("déjà vu" in text for _obj, text in ours)  # the server's UTF-8, not re-escaped
    selected = list(list_objects(kube, path, api_version="v1", kind="ConfigMap", params={"labelSelector": "n in (1,3)"}))
    assert sorted(obj["metadata"]["name"] for obj, _t in selected) == ["cm-1", "cm-3"]
