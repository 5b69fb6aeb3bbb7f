"""`salvage demo postgres`'s verdict and its refusals before anything starts (the story
itself runs on the real node: tests/integration/engines/test_demo_postgres.py)."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.demo.postgres import OperatorHooks, PgDemoResult, TableCount, run_postgres_demo
from salvage.locations import Location, LocationSpec
from salvage.model.errors import UsageError
from salvage.storage.memory import MemoryStore


def result(tables: list[TableCount], logs_in: bool = True) -> PgDemoResult:
    return PgDemoResult("c", "ns", "b", tables, 42, logs_in, 1.0)


def test_the_demo_succeeds_only_when_every_table_matches_the_dump_and_the_client_logs_in() -> None:
    same = [TableCount("public.orders", 20010, 20100, 20010), TableCount("public.customers", 1000, 1000, 1000)]
    assert result(same).ok
    assert result(same).to_json()["tables"][0] == {"table": "public.orders", "dumped": 20010, "atDeletion": 20100,
                                                   "restored": 20010, "match": True}
    assert not result(same, logs_in=False).ok
    assert not result([TableCount("public.orders", 20010, 20100, 20009)]).ok
    assert not result([TableCount("public.orders", 20010, 20100, None)]).ok, "a table missing after the restore"
    assert not result([]).ok, "nothing compared is no success"


class Untouchable:
    """A cluster that must not be started."""

    name = "c"

    def up(self, **_kw: Any) -> None:
        raise AssertionError("the cluster was started")


def test_a_location_the_operators_pod_cannot_mount_is_refused_before_anything_starts() -> None:
    s3 = Location(LocationSpec("shared", "s3", "bucket"), MemoryStore())
    hooks = OperatorHooks("salvage", "salvage.io/v1alpha1", lambda *_a: None, lambda *_a: None)
    with pytest.raises(UsageError, match="location 'shared' is s3"):
        run_postgres_demo(Untouchable(), "ns", s3, "pw", hooks, lambda _m: None, lambda _k, _d: None)  # type: ignore[arg-type]
