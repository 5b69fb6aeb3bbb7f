"""One parametrized store fixture: every contract test runs against every provider.

Integration runs add real servers by appending a factory to ``STORE_FACTORIES``
(e.g. an S3Store against MinIO) — the contract tests need no change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from obstore.store import MemoryStore as ObstoreMemory

from salvage.storage.base import Store
from salvage.storage.object_stores import CloudStore
from salvage.storage.local import LocalStore
from salvage.storage.memory import MemoryStore

StoreFactory = Callable[[Path], Store]

STORE_FACTORIES: dict[str, StoreFactory] = {
    "memory": lambda _tmp: MemoryStore(),
    "local": lambda tmp: LocalStore(tmp / "store", fsync=False),
    # obstore's own in-memory backend drives the same code path as S3/Azure/GCS.
    "obstore": lambda _tmp: CloudStore(ObstoreMemory(), "memory://obstore"),
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return STORE_FACTORIES[request.param](tmp_path)
