"""The store contract and the repository on real object-store servers (MinIO, Azurite,
fake-gcs-server), the same checks the unit suite runs on memory and local stores."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from salvage.storage.base import Store
from salvage.storage.object_stores import open_cloud_store
from tests.unit.repo.conftest import assert_round_trip
from tests.unit.storage import test_contract as contract

pytestmark = pytest.mark.integration


@pytest.fixture(params=["s3", "azure", "gcs"])
def fresh_store(request: pytest.FixtureRequest) -> Callable[[], Store]:
    """A factory of empty stores (each under its own prefix) on one real server."""
    if request.param == "s3":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        options: dict[str, Any] = {"endpoint": server.endpoint, "region": server.region}
    elif request.param == "azure":
        server, bucket = request.getfixturevalue("azure_server"), request.getfixturevalue("azure_container")
        options = {"endpoint": server.endpoint}
    else:
        server, bucket = request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_bucket")
        options = {"endpoint": server.endpoint}
    return lambda: open_cloud_store(request.param, bucket, prefix=f"t-{uuid.uuid4().hex[:8]}",
                                    credentials=server.credentials, **options)


# Every contract test of the unit suite, found by name so none can be left out here.
CONTRACT = {name: check for name, check in inspect.getmembers(contract, inspect.isfunction)
            if name.startswith("test_")}


def test_the_contract_list_is_complete() -> None:
    assert len(CONTRACT) == 9, sorted(CONTRACT)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_the_store_contract_holds(fresh_store: Callable[[], Store], name: str) -> None:
    check = CONTRACT[name]
    if "key" in inspect.signature(check).parameters:
        for key in contract.ESCAPING_KEYS:
            check(fresh_store(), key)
    else:
        check(fresh_store())


def test_the_repository_round_trips(fresh_store: Callable[[], Store], tmp_path: Path) -> None:
    assert_round_trip(fresh_store(), tmp_path)


def test_gcs_objects_written_by_salvage_are_plain_gcs_objects(gcs_server: Any, gcs_client: Any,
                                                              gcs_bucket: str) -> None:
    """What our JSON-API writes leave is what Google's own SDK reads: right name, right bytes."""
    store = open_cloud_store("gcs", gcs_bucket, prefix="salvage", endpoint=gcs_server.endpoint,
                             credentials=gcs_server.credentials)
    data = bytes(range(256)) * 4096
    store.put("backups/b1/manifest.json", data)
    assert store.put_if_absent("repository/config", b"cfg") is True
    blobs = {b.name: b.size for b in gcs_client.list_blobs(gcs_bucket)}
    assert blobs == {"salvage/backups/b1/manifest.json": len(data), "salvage/repository/config": 3}
    assert gcs_client.bucket(gcs_bucket).blob("salvage/backups/b1/manifest.json").download_as_bytes() == data
