import pytest

from salvage.engines.ordering import rank
from salvage.engines.selection import Selection, label_selector_matches
from salvage.k8s.discovery import ApiResource

CM = ApiResource("", "v1", "configmaps", "ConfigMap", True, frozenset({"list"}), ("cm",), "configmap")
STS = ApiResource("apps", "v1", "statefulsets", "StatefulSet", True, frozenset({"list"}), ("sts",), "statefulset")
EVENTS = ApiResource("", "v1", "events", "Event", True, frozenset({"list"}), ("ev",), "event")


def test_namespace_globs_and_exclusions():
    s = Selection(include_namespaces=("wp*",), exclude_namespaces=("wp-test",))
    assert s.namespace("wp") and s.namespace("wp-prod")
    assert not s.namespace("wp-test") and not s.namespace("other")


def test_resources_by_plural_kind_short_name_and_group():
    assert Selection(include_resources=("statefulsets.apps",)).resource(STS)
    assert Selection(include_resources=("sts",)).resource(STS)
    assert Selection(include_resources=("StatefulSet",)).resource(STS)
    assert not Selection(include_resources=("statefulsets.batch",)).resource(STS)
    assert not Selection(exclude_resources=("cm",)).resource(CM)


def test_events_are_left_out_unless_named():
    assert not Selection().resource(EVENTS)
    assert Selection(include_resources=("events",)).resource(EVENTS)


@pytest.mark.parametrize(("selector", "expected"), [
    (None, True), ("app=pg", True), ("app==pg", True), ("app!=pg", False), ("app=wp", False),
    ("tier", True), ("!tier", False), ("missing", False), ("!missing", True),
    ("app in (pg,wp)", True), ("app notin (pg)", False), ("app=pg,tier=db", True), ("app=pg,tier=web", False),
])
def test_label_selectors(selector, expected):
    assert label_selector_matches({"app": "pg", "tier": "db"}, selector) is expected


def test_dependencies_are_restored_first():
    order = ["pods", "statefulsets.apps", "services", "configmaps", "secrets", "persistentvolumeclaims",
             "persistentvolumes", "namespaces", "customresourcedefinitions.apiextensions.k8s.io"]
    ranked = sorted(order, key=lambda r: rank(r, custom=False))
    assert ranked[:3] == ["customresourcedefinitions.apiextensions.k8s.io", "namespaces", "persistentvolumes"]
    assert ranked.index("persistentvolumeclaims") < ranked.index("statefulsets.apps")
    assert rank("widgets.example.com", custom=True) > rank("ingresses.networking.k8s.io", custom=False)

