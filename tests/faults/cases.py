"""The fault cases: which toxic, on which proxy, for how long; shared by the quick subset
(the test command) and the long sweep (scripts/fault-sweep), which runs more seeds.

A case's toxic is on for the whole run (``permanent``) or for its first ``seconds``
(a transient outage: the run must ride it out).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Fault:
    name: str  # its id in tests and the table
    proxy: str  # a store ("minio", "azurite", "gcs": see STORES) or "apiserver"
    toxic: str  # a toxiproxy toxic type, or "down" (the proxy disabled: connections refused)
    attributes: dict[str, int] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0
    seconds: float | None = None  # None: on for the whole run
    starts_after: float = 0.0  # seconds into the run (a run's Python start-up takes about 1 s)
    must_finish: bool = True  # the run must exit 0 (else: finish or fail cleanly)
    quick: bool = False  # in the test command's subset (every case runs in the sweep)
    what: str = ""  # the table's description, when the fault is not a plain toxic

    @property
    def label(self) -> str:
        if self.what:
            return self.what
        extra = ",".join(f"{k}={v}" for k, v in self.attributes.items())
        scope = f"first {self.seconds:g}s" if self.seconds else "whole run"
        if self.starts_after:
            scope = f"from {self.starts_after:g}s on"
        share = f", {self.toxicity:.0%} of connections" if self.toxicity < 1 else ""
        return f"{self.toxic}({extra}) {self.stream}{share}, {scope}"

    def on(self, store: str) -> Fault:
        """The same store fault on another store's proxy (``minio-latency`` -> ``gcs-latency``)."""
        if self.proxy not in STORES:
            return self
        return replace(self, name=self.name.replace(f"{self.proxy}-", f"{store}-", 1), proxy=store)


# The stores every store fault runs on, each behind its own proxy: MinIO (S3), Azurite (Azure
# Blob), fake-gcs-server (GCS; Salvage writes with its own JSON-API uploads, storage/gcs.py).
STORES = ("minio", "azurite", "gcs")


FAULTS = (
    Fault("minio-latency", "minio", "latency", {"latency": 150, "jitter": 50}),
    Fault("minio-bandwidth", "minio", "bandwidth", {"rate": 128}, stream="upstream"),
    Fault("minio-reset-mid-body", "minio", "limit_data", {"bytes": 48 * 1024}, stream="upstream", toxicity=0.5,
          must_finish=False),
    # Every connection cut after 64 KiB of answer: small objects (the catalog, the
    # repository's index and trees) still arrive, the volume's data pack never does.
    Fault("minio-cut-large-reads", "minio", "limit_data", {"bytes": 64 * 1024}, must_finish=False),
    Fault("minio-reset-peer", "minio", "reset_peer", {"timeout": 200}, toxicity=0.3, must_finish=False),
    Fault("minio-timeout", "minio", "timeout", {"timeout": 2000}, toxicity=0.3, must_finish=False),
    Fault("minio-blackhole-3s", "minio", "timeout", {"timeout": 0}, seconds=3),
    Fault("minio-down", "minio", "down", must_finish=False, quick=True),
    Fault("minio-down-mid-run", "minio", "down", starts_after=2.0, must_finish=False),
    Fault("api-latency", "apiserver", "latency", {"latency": 50, "jitter": 20}),
    Fault("api-bandwidth", "apiserver", "bandwidth", {"rate": 64}),
    Fault("api-reset-mid-body", "apiserver", "limit_data", {"bytes": 16 * 1024}, toxicity=0.3, must_finish=False,
          quick=True),
    Fault("api-reset-peer", "apiserver", "reset_peer", {"timeout": 100}, toxicity=0.2, must_finish=False),
    Fault("api-blackhole-3s", "apiserver", "timeout", {"timeout": 0}, seconds=3, quick=True),
    Fault("api-down", "apiserver", "down", must_finish=False, quick=True),
    Fault("api-down-mid-run", "apiserver", "down", starts_after=2.0, must_finish=False),
)


def sweeping() -> bool:
    """The long sweep (scripts/fault-sweep) sets SALVAGE_FAULT_SWEEP=1: every case, more seeds."""
    return os.environ.get("SALVAGE_FAULT_SWEEP") == "1"


def every_store(faults: tuple[Fault, ...] | list[Fault]) -> list[Fault]:
    """Each store fault on every store (MinIO's first), the API server's once."""
    out = []
    for fault in faults:
        out += [fault.on(store) for store in STORES] if fault.proxy in STORES else [fault]
    return out


def selected(path: str) -> list[Fault]:
    """The cases for ``path``: all in the sweep (store faults on every store, or on the stores
    of $SALVAGE_FAULT_STORES); in the test command the quick ones, and for restores (slower:
    each checks a restored namespace) only the API server's blackhole and outage (the store's
    outage mid-restore is test_store_outages.py, on every store)."""
    if sweeping():
        return [f for f in every_store(FAULTS) if f.proxy not in STORES or f.proxy in swept_stores()]
    return [f for f in every_store(FAULTS)
            if f.quick and (path == "backup" or f.name in ("api-blackhole-3s", "api-down"))]


def swept_stores() -> list[str]:
    """The stores the sweep's store faults run on: $SALVAGE_FAULT_STORES, else every one."""
    return os.environ.get("SALVAGE_FAULT_STORES", ",".join(STORES)).split(",")


def per_store(make: Callable[[str], Fault], quick: tuple[str, ...] = STORES) -> list[Any]:
    """``make(store)`` for each store, as pytest params named by the store: in the test
    command those in ``quick``, in the sweep those of :func:`swept_stores`."""
    import pytest

    def marks(store: str) -> Any:
        if sweeping():
            return () if store in swept_stores() else pytest.mark.skip(reason="not in $SALVAGE_FAULT_STORES")
        return () if store in quick else sweep_only()

    return [pytest.param(make(store), id=store, marks=marks(store)) for store in STORES]


def sweep_only() -> Any:
    """A mark for a case the test command leaves to the long sweep (its time budget is a few
    minutes; the sweep runs every case)."""
    import pytest

    return pytest.mark.skipif(not sweeping(), reason="in the long sweep only (benchmarks/fault_sweep.py)")


def record(result: dict[str, Any]) -> None:
    """Append one run's result to $SALVAGE_FAULT_RESULTS (JSON lines), when the sweep set it."""
    path = os.environ.get("SALVAGE_FAULT_RESULTS")
    if path:
        with open(Path(path), "a") as out:
            out.write(json.dumps(result) + "\n")


def seeds(default: int) -> range:
    """How many seeds a test runs: ``default`` in the test command, $SALVAGE_FAULT_SEEDS in a sweep."""
    return range(int(os.environ.get("SALVAGE_FAULT_SEEDS", default)))


__all__ = ["FAULTS", "STORES", "Fault", "asdict", "every_store", "per_store", "record", "seeds", "selected", "sweep_only",
           "sweeping", "swept_stores"]
