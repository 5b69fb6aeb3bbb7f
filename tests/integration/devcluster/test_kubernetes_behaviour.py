"""The local cluster behaves like Kubernetes where Salvage depends on it."""

from __future__ import annotations

import pytest

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError
from tests.support.builders import headless_service, pvc, statefulset, volume_snapshot
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _phase(kube: KubeClient, path: str) -> str | None:
    return kube.get(path).get("status", {}).get("phase")


def test_statefulset_claims_are_created_bound_and_pods_run(kube: KubeClient, ns: str) -> None:
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("web", "web"))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", statefulset("web", replicas=3))

    for ordinal in range(3):
        claim = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-web-{ordinal}"
        wait_for(lambda: kube.exists(claim), timeout=60, what=f"PVC data-web-{ordinal}")
        wait_for(lambda: _phase(kube, claim) == "Bound", timeout=60, what=f"data-web-{ordinal} Bound")
        pod = f"/api/v1/namespaces/{ns}/pods/web-{ordinal}"
        wait_for(lambda: kube.exists(pod) and _phase(kube, pod) == "Running", timeout=60,
                 what=f"pod web-{ordinal} Running")
        spec = kube.get(pod)["spec"]
        assert spec["nodeName"].startswith("kwok-node-")
        assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == f"data-web-{ordinal}"

    names = sorted(p["metadata"]["name"] for p in kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims"))
    assert names == ["data-web-0", "data-web-1", "data-web-2"]


def test_claim_templates_of_a_statefulset_are_immutable(kube: KubeClient, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/statefulsets"
    kube.create(path, statefulset("db", replicas=0))
    templates = kube.get(f"{path}/db")["spec"]["volumeClaimTemplates"]
    templates[0]["spec"]["resources"]["requests"]["storage"] = "2Gi"

    # A patch (no resourceVersion) so the controller's status writes cannot race the test.
    with pytest.raises(KubernetesError) as err:
        kube.patch(f"{path}/db", {"spec": {"volumeClaimTemplates": templates}})

    assert err.value.status == 422
    assert "Forbidden: updates to statefulset spec for fields other than" in str(err.value)


def test_snapshot_controller_reconciles_a_volume_snapshot(kube: KubeClient, ns: str) -> None:
    kube.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", pvc("src"))
    kube.create(
        f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots",
        volume_snapshot("snap", "src", snapshot_class="no-such-class"),
    )

    def reported_error() -> str | None:
        status = kube.get(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/snap").get("status")
        return ((status or {}).get("error") or {}).get("message")

    # Only the snapshot-controller writes VolumeSnapshot status: an error here proves it saw the object.
    message = wait_for(reported_error, timeout=60, what="the snapshot-controller's status on the VolumeSnapshot")
    assert "no-such-class" in message


def test_kwok_nodes_heartbeat_through_leases(kube: KubeClient) -> None:
    """Node status patches alone lapse on a busy machine; the node lifecycle controller then marks
    every pod NotReady and kwok never makes them Ready again (kwok issue #1464). Leases keep
    the nodes alive, and the controller manager's grace period is long enough for late ones."""
    nodes = [n["metadata"]["name"] for n in kube.list("/api/v1/nodes")]
    assert nodes
    first = {n: kube.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{n}")["spec"]
             for n in nodes}
    assert all(spec.get("leaseDurationSeconds") == 40 for spec in first.values()), first
    wait_for(lambda: all(
        kube.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{n}")["spec"]["renewTime"]
        > first[n]["renewTime"] for n in nodes), timeout=60, what="every node's Lease to be renewed")
