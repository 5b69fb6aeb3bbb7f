"""The store contract and the repository on real object-store servers (MinIO, Azurite,
fake-gcs-server), the same checks the unit suite runs on memory and local stores."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from salvage.storage.base import Store
from salvage.storage.cloud import open_cloud_store
from salvage.storage.errors import StorageError
from tests.unit.repo.conftest import assert_round_trip
from tests.unit.storage import test_contract as contract

pytestmark = pytest.mark.integration

# Only our StorageError counts as the known gap (fake-gcs-server answers obstore's XML-API
# PUT with 400 "invalid uploadType"); anything else, such as the server not starting, fails.
_GCS_GAP = pytest.mark.xfail(
    reason="obstore writes GCS objects with a plain PUT that fake-gcs-server does not implement "
           "(fake-gcs-server issue #331); see docs/test-servers.md", strict=True, raises=StorageError)


@pytest.fixture(params=["s3", "azure", pytest.param("gcs", marks=_GCS_GAP)])
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


CONTRACT: list[Callable[[Store], Any]] = [
    contract.test_put_then_get_returns_the_same_bytes,
    contract.test_put_replaces_an_existing_object,
    contract.test_missing_objects_raise_our_not_found,
    contract.test_get_range_reads_a_slice,
    contract.test_list_by_prefix_sees_only_that_prefix,
    contract.test_delete_is_idempotent,
    contract.test_put_if_absent_creates_once,
    contract.test_put_if_absent_has_exactly_one_winner_under_a_race,
]


def test_the_store_contract_holds(fresh_store: Callable[[], Store]) -> None:
    for check_one in CONTRACT:
        check_one(fresh_store())


def test_the_repository_round_trips(fresh_store: Callable[[], Store], tmp_path: Path) -> None:
    assert_round_trip(fresh_store(), tmp_path)
