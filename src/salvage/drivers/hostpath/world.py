"""One consistent-enough view of the objects the driver reconciles, fetched per pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salvage.k8s.api_groups import SNAPSHOTS
from salvage.k8s.client import KubeClient

Obj = dict[str, Any]


@dataclass(frozen=True)
class World:
    storage_classes: dict[str, Obj]
    claims: dict[tuple[str, str], Obj]
    volumes: dict[str, Obj]
    nodes: list[Obj]
    snapshots: dict[tuple[str, str], Obj]
    contents: dict[str, Obj]

    @classmethod
    def fetch(cls, client: KubeClient) -> World:
        return cls(
            storage_classes={_name(o): o for o in client.list("/apis/storage.k8s.io/v1/storageclasses")},
            claims={_key(o): o for o in client.list("/api/v1/persistentvolumeclaims")},
            volumes={_name(o): o for o in client.list("/api/v1/persistentvolumes")},
            nodes=list(client.list("/api/v1/nodes")),
            snapshots={_key(o): o for o in client.list(f"{SNAPSHOTS}/volumesnapshots")},
            contents={_name(o): o for o in client.list(f"{SNAPSHOTS}/volumesnapshotcontents")},
        )

    def volume_by_handle(self, driver: str, handle: str) -> Obj | None:
        for pv in self.volumes.values():
            csi = pv.get("spec", {}).get("csi") or {}
            if csi.get("driver") == driver and csi.get("volumeHandle") == handle:
                return pv
        return None


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _key(obj: Obj) -> tuple[str, str]:
    return str(obj["metadata"]["namespace"]), str(obj["metadata"]["name"])
