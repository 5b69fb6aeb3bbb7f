"""--snapshot-move-data: the snapshot, a temporary claim from it, the mover, and everything
temporary released whether the copy worked or not."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.engines.snapshot_move import move_snapshot_data
from salvage.model.mover import MoverSettings
from salvage.volumes import fs
from salvage.volumes.method import ClaimSource, MethodContext, VolumeCaptureError
from salvage.volumes.registry import Methods
from tests.support.fake_kube import FakeApi

CLAIM = {"metadata": {"namespace": "shop", "name": "data-db-0"},
         "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}}
PV = {"metadata": {"name": "pv-1"}, "spec": {}}


class Snapshots:
    name = "csi-snapshot"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def capture(self, claim: Any, pv: Any, backup: str, *, timeout: float) -> dict[str, Any]:
        self.log.append("snapshot")
        return {"method": "csi-snapshot", "pvc": "data-db-0", "snapshotHandle": "h", "restoreSize": 10}

    def prepare(self, record: Any, claim: Any, namespace: str, *, owner: str, timeout: float) -> ClaimSource:
        self.log.append(f"prepare {namespace}/{claim['metadata']['name']}")
        return ClaimSource(data_source={"kind": "VolumeSnapshot", "name": "s"}, restore_size=10,
                           release=lambda: self.log.append("release"))

    def delete_captured(self, record: Any) -> bool:
        self.log.append("delete snapshot")
        return True


class Mover(fs.FsMethod):
    def __init__(self, log: list[str], fail: bool) -> None:
        self.log, self.fail = log, fail

    def capture_through(self, mounted: str, claim: Any, pv: Any, backup: str) -> dict[str, Any]:
        self.log.append(f"copy {mounted} as {claim['metadata']['name']}")
        if self.fail:
            raise VolumeCaptureError("Mover pod shop/x failed: OOMKilled")
        return {"method": "fs", "pvc": claim["metadata"]["name"], "snapshotHandle": "repo-1"}


def methods(api: FakeApi, log: list[str], *, fail: bool = False) -> Methods:
    made = Methods(MethodContext(api.client()))
    made._made.update({"csi-snapshot": Snapshots(log), "fs": Mover(log, fail)})  # type: ignore[dict-item]
    return made


@pytest.mark.parametrize("fail", [False, True])
def test_the_temporary_claim_and_the_snapshot_go_whatever_the_copy_did(fail: bool) -> None:
    api, log = FakeApi(), []
    run = lambda: move_snapshot_data(api.client(), methods(api, log, fail=fail), CLAIM, PV, "b1",  # noqa: E731
                                     timeout=5, mover=MoverSettings())
    if fail:
        with pytest.raises(VolumeCaptureError, match="OOMKilled"):
            run()
    else:
        assert run() == {"method": "fs", "pvc": "data-db-0", "snapshotHandle": "repo-1"}
    created = [m for m, p in api.writes if p.startswith("/api/v1/namespaces/shop/persistentvolumeclaims")]
    assert created == ["POST", "DELETE"], "the temporary claim was made and removed"
    assert log[0] == "snapshot" and log[1].startswith("prepare shop/salvage-move-")
    assert log[2].startswith("copy salvage-move-") and log[2].endswith(" as data-db-0")
    assert log[3:] == ["release", "delete snapshot"]
