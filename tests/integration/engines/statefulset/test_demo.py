"""`salvage demo` runs unattended, as CI runs it, and ends with seed 000's validation."""

from __future__ import annotations

import json
import time

import pytest

from salvage.demo.writer import parse_time
from salvage.devcluster.cluster import LocalCluster
from tests.integration.engines.conftest import Salvage

pytestmark = pytest.mark.integration


def test_demo_recovers_hello_stateful_and_shows_the_gap(cluster: LocalCluster, ns: str, salvage: Salvage) -> None:
    started = time.monotonic()
    out = salvage("-o", "json", "demo", "--cluster", cluster.name, "--namespace", ns)
    took = time.monotonic() - started

    result = json.loads(out.stdout)
    log, gap_at = result["log"], result["gapAt"]
    # Generous on purpose: a loaded 2-core machine must not fail it; speed belongs in benchmarks.
    assert took < 300, f"the demo took {took:.0f}s"
    assert "6/7 salvage statefulset recover hello-stateful" in out.stderr
    assert "replace (dangling: the volume of PV" in out.stderr, "the dangling PV and PVC are replaced"
    before, after = log[:gap_at], log[gap_at:]
    assert before and before[-1] == result["snapshotLastLine"], "the old lines end where the snapshot was taken"
    assert len(after) >= 2, "new lines after the recovery"
    assert result["gapSeconds"] >= 3 and not set(result["lostLines"]) & set(log)
    times = [parse_time(line) for line in log]
    assert times == sorted(times)
