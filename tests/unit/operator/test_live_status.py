"""A running Backup's or Restore's progress goes into its status at most once per interval
(not once per item), and into the metrics with every event; a failed status write never
stops the run."""

from __future__ import annotations

import threading
import time
from typing import Any

from salvage.model.errors import KubernetesError
from salvage.model.progress import Item, Logged, ResourceDone, Step, VolumeBytes, VolumeMoved, VolumeState
from salvage.operator.live_status import LiveStatus
from salvage.operator.metrics import Metrics

OBJ = {"metadata": {"name": "nightly-1", "generation": 1}}


class _Ctx:
    """What LiveStatus uses of OperatorContext: metrics and status writes (recorded)."""

    def __init__(self, failures: int = 0) -> None:
        self.metrics, self.progress_seconds = Metrics(), 0.05
        self.writes: list[tuple[float, dict[str, Any]]] = []
        self.failures = failures
        self.written = threading.Event()

    def write_status(self, plural: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise KubernetesError("the API server is busy", status=503)
        self.writes.append((time.monotonic(), status))
        self.written.set()


def _sample(ctx: _Ctx, name: str, **labels: str) -> float:
    return ctx.metrics.registry.get_sample_value(name, labels) or 0.0


def test_ten_thousand_items_are_a_few_status_writes() -> None:
    ctx = _Ctx()
    started = time.monotonic()
    with LiveStatus(ctx, "restores", OBJ, interval=0.2) as live:  # type: ignore[arg-type]
        for i in range(10_000):
            live(Item("configmaps", "shop", f"c{i}", "failed" if i % 1000 == 0 else "created"))
            if i == 5000:
                assert ctx.written.wait(5), "a write while the run goes on"
        live(ResourceDone("configmaps"))
    elapsed = time.monotonic() - started
    assert 1 <= len(ctx.writes) <= elapsed / 0.2 + 1, (len(ctx.writes), elapsed)
    assert all(b - a >= 0.15 for (a, _), (b, _) in zip(ctx.writes, ctx.writes[1:])), "throttled"
    assert ctx.writes[0][1]["progress"]["items"] >= 5000 and ctx.writes[0][1]["counts"]["created"] >= 4995
    final = live.progress()
    assert (final["items"], final["resources"], live.counts()) == (10_000, 1, {"created": 9990, "failed": 10})
    assert live.per_resource() == {"configmaps": {"created": 9990, "failed": 10}}
    assert _sample(ctx, "salvage_restore_items_total", action="created") == 9990
    assert _sample(ctx, "salvage_restore_items_total", action="failed") == 10


def test_a_backup_counts_items_volumes_and_each_byte_once() -> None:
    ctx = _Ctx()
    with LiveStatus(ctx, "backups", OBJ, schedule="nightly", interval=60) as live:  # type: ignore[arg-type]
        live(ResourceDone("configmaps", 12))
        live(ResourceDone("secrets", 3))
        live(VolumeState("shop/data", "copying files"))
        for running_total in (10, 30, 30):  # the pod's log says running totals
            live(VolumeBytes("shop/data", "backup", "p", 1, 2, running_total, None, 5))
        live(VolumeMoved("shop/data", "backup", "p", 1.5, 35, 2**20))
        live(VolumeState("shop/data", "fs", done=True))
        live(VolumeMoved("shop/logs", "backup", "q", 0.5, 7, 2**20))
        live(Logged("warning", "could not list x"))
        live(Step("writing the manifest"))
    progress = live.progress()
    assert {k: progress[k] for k in ("resources", "items", "volumes", "volumeBytes", "warnings", "step")} == {
        "resources": 2, "items": 15, "volumes": 1, "volumeBytes": 42, "warnings": 1, "step": "writing the manifest"}
    assert live.per_resource() == {"configmaps": 12, "secrets": 3}
    assert ctx.writes == [], "nothing written before the interval: the reconciler writes the outcome"
    assert _sample(ctx, "salvage_backup_items_total", schedule="nightly") == 15
    assert _sample(ctx, "salvage_backup_volume_bytes_total", schedule="nightly") == 42


def test_a_failed_status_write_is_tried_again_and_never_raises() -> None:
    ctx = _Ctx(failures=2)
    with LiveStatus(ctx, "backups", OBJ, interval=0.05) as live:  # type: ignore[arg-type]
        live(ResourceDone("configmaps", 1))
        assert ctx.written.wait(5), "written once the API server answers again"
    assert ctx.failures == 0 and ctx.writes[0][1]["progress"]["items"] == 1


def test_nothing_new_is_not_written_again() -> None:
    ctx = _Ctx()
    with LiveStatus(ctx, "backups", OBJ, interval=0.02) as live:  # type: ignore[arg-type]
        live(Step("discovering"))
        assert ctx.written.wait(5)
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # a dozen intervals with no event
            time.sleep(0.02)
    assert len(ctx.writes) == 1
