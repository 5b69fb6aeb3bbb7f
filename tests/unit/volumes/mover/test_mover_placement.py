"""Where a mover runs, and which volumes the fs method copies through one (all but those on
kwok's fake nodes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salvage.locations.config import LocationSpec
from salvage.storage.memory import MemoryStore
from salvage.volumes import fs
from salvage.volumes.method import MethodContext
from salvage.volumes.mover import MoverJob, MoverRunner
from salvage.volumes.mover.placement import place
from tests.support.fake_kube import FakeApi


def claim(modes: tuple[str, ...] = ("ReadWriteOnce",)) -> dict[str, Any]:
    return {"metadata": {"namespace": "shop", "name": "data-db-0"},
            "spec": {"accessModes": list(modes), "volumeName": "pv-1",
                     "resources": {"requests": {"storage": "1Gi"}}}}


def pv(node: str, path: str = "/nowhere") -> dict[str, Any]:
    return {"metadata": {"name": "pv-1"}, "spec": {"csi": {
        "driver": "hostpath.salvage.io", "volumeAttributes": {"path": path, "node": node}}}}


def api(*, user_node: str | None = "node-a", kwok: bool = False) -> FakeApi:
    objects: dict[str, Any] = {
        "/api/v1/nodes/node-a": {"metadata": {"name": "node-a", "annotations": (
            {"kwok.x-k8s.io/node": "fake"} if kwok else {})}}}
    if user_node:
        objects["/api/v1/namespaces/shop/pods/db-0"] = {
            "metadata": {"name": "db-0"}, "status": {"phase": "Running"},
            "spec": {"nodeName": user_node, "tolerations": [{"key": "db", "operator": "Exists"}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data-db-0"}}]}}
    return FakeApi(objects)


def test_an_rwo_claim_in_use_is_copied_on_its_users_node_with_its_tolerations() -> None:
    where = place(api().client(), claim(), pv("node-a"))
    assert where.node == "node-a" and where.tolerations == ({"key": "db", "operator": "Exists"},)
    assert not where.fake_node


def test_an_rwx_claim_or_one_not_in_use_goes_where_the_scheduler_puts_it() -> None:
    assert place(api().client(), claim(("ReadWriteMany",)), pv("node-a")).node is None
    assert place(api(user_node=None).client(), claim(), pv("node-a")).node is None


def test_a_volume_on_a_kwok_node_is_read_directly(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    context = MethodContext(api(kwok=True).client(), MemoryStore(), "pw", create_repository=True)
    record = fs.FsMethod(context).capture(claim(), pv("node-a", str(tmp_path)), "b1", timeout=10)
    assert record["method"] == "fs" and record["restoreSize"] == 1


def test_every_other_volume_goes_through_a_mover_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[MoverJob] = []

    def run(self: MoverRunner, job: MoverJob) -> dict[str, Any]:
        jobs.append(job)
        return {"snapshot": "ab12", "total_bytes": 42, "error_count": 0}

    monkeypatch.setattr(MoverRunner, "run", run)
    location = LocationSpec(name="default", provider="filesystem", bucket="/srv")
    context = MethodContext(api().client(), MemoryStore(), "pw", create_repository=True, location=location)
    record = fs.FsMethod(context).capture(claim(), pv("node-a"), "b1", timeout=10)
    assert (record["method"], record["snapshotHandle"], record["restoreSize"]) == ("fs", "ab12", 42)
    [job] = jobs
    assert (job.action, job.namespace, job.claim, job.node) == ("backup", "shop", "data-db-0", "node-a")
    assert job.args == ("fs", "backup", "/data", "--tag", "backup=b1", "--tag", "pvc=shop/data-db-0",
                        "--host", "shop/data-db-0")
