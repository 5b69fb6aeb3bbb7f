from __future__ import annotations

from typing import Any

import pytest

from salvage.engines.statefulset.manifests import (
    claim_from_template,
    creatable,
    current_snapshot,
    from_snapshot,
    pick_template,
)
from salvage.model.errors import UsageError
from tests.support.builders import statefulset


def _live(name: str = "web") -> dict[str, Any]:
    body = statefulset(name, replicas=2, template="data", size="1Gi")
    body["metadata"].update(uid="u", resourceVersion="7", namespace="old", ownerReferences=[{"name": "op"}])
    body["status"] = {"replicas": 2}
    return body


def test_successor_takes_its_claims_from_the_snapshot_and_keeps_the_pod_template() -> None:
    source = _live()
    body = from_snapshot(source, name="web-r2", namespace="ns", template="data", snapshot="snap",
                         restore_size=2 * 2**30, replicas=3, annotations={"a": "b"})
    assert body["metadata"]["name"] == "web-r2" and body["metadata"]["namespace"] == "ns"
    assert "uid" not in body["metadata"] and "ownerReferences" not in body["metadata"] and "status" not in body
    claim = body["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["dataSource"] == {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}
    assert claim["resources"]["requests"]["storage"] == "2Gi", "never smaller than the snapshot"
    assert body["spec"]["template"] == source["spec"]["template"] and body["spec"]["replicas"] == 3
    assert current_snapshot(body, "data") == "snap" and current_snapshot(source, "data") is None
    assert source["metadata"]["name"] == "web", "the source is not modified"


def test_recovered_claim_looks_like_the_controllers() -> None:
    body = creatable(_live(), "ns")
    claim = claim_from_template(body, "data", "data-web-1", "ns")
    assert claim["metadata"] == {"name": "data-web-1", "namespace": "ns", "labels": {"app": "web"}}
    assert claim["spec"] == body["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["spec"] is not body["spec"]["volumeClaimTemplates"][0]["spec"], "a copy: the template is kept"


def test_template_choice() -> None:
    body = _live()
    assert pick_template(body, None) == "data"
    with pytest.raises(UsageError):
        pick_template(body, "other")
    body["spec"]["volumeClaimTemplates"].append({"metadata": {"name": "wal"}, "spec": {}})
    with pytest.raises(UsageError, match="--claim-template"):
        pick_template(body, None)
