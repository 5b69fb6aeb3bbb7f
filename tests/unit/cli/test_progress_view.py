"""The CLI's display of the engines' typed progress events: the lines it printed when the
events were (kind, dict) pairs, word for word."""

from __future__ import annotations

import pytest

from salvage.cli.output import Terminal
from salvage.cli.progress import ProgressView
from salvage.model.progress import (
    Finished, Item, Logged, ResourceDone, Started, Step, VolumeBytes, VolumeMoved, VolumeState,
)


def test_each_event_prints_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        Started("backup", "nightly"),
        ResourceDone("configmaps", 12),
        ResourceDone("deployments.apps"),  # a restore's: no count, no line
        Item("configmaps", "shop", "a", "created"),
        Item("secrets", "shop", "b", "failed", "forbidden"),
        Item("namespaces", None, "shop", "failed", "exists"),
        VolumeState("shop/data", "snapshotting"),
        VolumeState("shop/data", "csi-snapshot", done=True),
        VolumeBytes("shop/data", "backup", "p", 12, 40, 3 * 2**20, None, 2**20),
        VolumeBytes("shop/data", "backup", "p", 0, None, 0, None, 0),
        VolumeMoved("shop/data", "backup", "p", 4.2, 5, 97 * 2**20),
        Step("verifying 3 objects of backup nightly"),
        Logged("info", "not shown"),
        Logged("warning", "could not list x"),
        Finished("backup", "nightly", "Completed"),
    ]
    with ProgressView(Terminal(), "backup") as view:
        for event in events:
            view.update(event)
    assert capsys.readouterr().err.splitlines() == [
        "configmaps: 12",
        "failed secrets shop/b: forbidden",
        "failed namespaces /shop: exists",
        "volume shop/data: snapshotting",
        "volume shop/data: csi-snapshot",
        "volume shop/data: backup 12/40 files, 3.0 MiB at 1.0 MiB/s",
        "volume shop/data: backup 0/? files, 0.0 MiB at 0.0 MiB/s",
        "volume shop/data: backup done in 4.2s by pod p, peak memory 97.0 MiB",
        "verifying 3 objects of backup nightly",
        "warning: could not list x",
    ]
    assert view.count == 12 + 3
