"""Where the hostpath driver puts a volume bound at once: beside a real node, on the real
node (kwok's are tainted), also while it is briefly not Ready; never on a kwok node."""

from __future__ import annotations

import pytest

from salvage.drivers.hostpath.provisioner import Provisioner, Wait
from salvage.drivers.hostpath.world import World

KWOK = {"key": "salvage.io/kwok", "value": "fake", "effect": "NoSchedule"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


def _node(name: str, ready: bool, *taints: dict) -> dict:
    return {"metadata": {"name": name}, "spec": {"taints": list(taints)},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def _place(*nodes: dict) -> str:
    world = World(storage_classes={}, claims={}, volumes={}, nodes=list(nodes), snapshots={}, contents={})
    claim = {"metadata": {"uid": "u-1", "name": "data", "namespace": "ns"}}
    return Provisioner(None, None, {})._node_for(claim, {"volumeBindingMode": "Immediate"}, world)  # type: ignore[arg-type]


def test_the_real_node_gets_the_volume() -> None:
    assert _place(_node("kwok-node-0", True, KWOK), _node("real-node-0", True)) == "real-node-0"


def test_a_real_node_that_is_not_ready_is_waited_for_not_passed_over_for_a_kwok_node() -> None:
    with pytest.raises(Wait, match="real-node-0"):
        _place(_node("kwok-node-0", True, KWOK), _node("real-node-0", False, NOT_READY))


def test_kwok_only_clusters_spread_volumes_over_their_ready_nodes() -> None:
    assert _place(_node("kwok-node-0", True), _node("kwok-node-1", False)) == "kwok-node-0"
    assert _place(_node("kwok-node-0", True, KWOK), _node("kwok-node-1", True, KWOK)) in ("kwok-node-0", "kwok-node-1")
