"""`salvage demo` runs unattended, as CI runs it, and ends with seed 000's validation: the
log written by a real container, read through exec in the recovered one."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from salvage.demo.writer import parse_time
from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.node import NODE_NAME
from tests.integration.engines.conftest import cli_for

pytestmark = pytest.mark.integration


def test_demo_recovers_hello_stateful_and_shows_the_gap(real_cluster: LocalCluster, salvage_home: Path) -> None:
    salvage = cli_for(real_cluster)
    started = time.monotonic()
    out = salvage("-o", "json", "demo", "--cluster", real_cluster.name, "--namespace", f"demo-{os.getpid()}")
    print(f"demo took {time.monotonic() - started:.0f}s")  # its speed is measured in benchmarks/

    result = json.loads(out.stdout)
    log, gap_at = result["log"], result["gapAt"]
    assert f"Running on {NODE_NAME}" in out.stderr, "hello-stateful runs as a real container"
    assert "6/7 salvage statefulset recover hello-stateful" in out.stderr
    assert "replace (dangling: the volume of PV" in out.stderr, "the dangling PV and PVC are replaced"
    before, after = log[:gap_at], log[gap_at:]
    assert before and before[-1] == result["snapshotLastLine"], "the old lines end where the snapshot was taken"
    assert len(after) >= 2, "new lines after the recovery"
    assert result["gapSeconds"] >= 3 and not set(result["lostLines"]) & set(log)
    times = [parse_time(line) for line in log]
    assert times == sorted(times)
