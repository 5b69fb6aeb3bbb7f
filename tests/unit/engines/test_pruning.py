"""Pruning a location held in memory: who is picked, what goes, through the deletion engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from salvage.catalog import layout
from salvage.catalog.reader import list_backups
from salvage.engines.pruning import SCHEDULE_LABEL, plan_prune, prune, schedule_selector
from salvage.engines.backup_retention import RetentionPolicy
from salvage.locations import Location, LocationSpec
from salvage.model.errors import UsageError
from salvage.storage.counting import CountingStore
from salvage.storage.memory import MemoryStore
from tests.support.backups import write_backup

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _location(store: MemoryStore, access_mode: str = "ReadWrite") -> Location:
    spec = LocationSpec(name="mem", provider="filesystem", bucket="/nowhere", access_mode=access_mode)
    return Location(spec, CountingStore(store, read_only=spec.read_only))


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    for day in range(1, 6):
        write_backup(store, f"wp-{day}", f"2026-11-0{day}T02:00:00Z", **{SCHEDULE_LABEL: "wp"})
    write_backup(store, "db-1", "2026-11-01T02:00:00Z", **{SCHEDULE_LABEL: "db"})
    write_backup(store, "manual", "2026-10-01T02:00:00Z")
    store.put(layout.volumes("half-written"), b"[]")  # no manifest: Incomplete
    return store


def test_a_selector_picks_the_schedule_and_leaves_out_incomplete_backups(store: MemoryStore) -> None:
    planned = plan_prune(_location(store), RetentionPolicy(keep_last=2), selector=schedule_selector("wp"), now=NOW)
    assert [(p.backup.name, p.decision.keep) for p in planned] == [
        ("wp-5", True), ("wp-4", True), ("wp-3", False), ("wp-2", False), ("wp-1", False)]


def test_without_a_selector_every_backup_is_planned_and_incomplete_ones_kept(store: MemoryStore) -> None:
    planned = {p.backup.name: p.decision for p in plan_prune(_location(store), RetentionPolicy(), now=NOW)}
    assert set(planned) == {"wp-1", "wp-2", "wp-3", "wp-4", "wp-5", "db-1", "manual", "half-written"}
    assert planned["half-written"].keep and planned["wp-5"].keep
    assert not planned["manual"].keep


def test_prune_deletes_oldest_first_through_the_deletion_engine(store: MemoryStore) -> None:
    location = _location(store)
    planned = plan_prune(location, RetentionPolicy(keep_last=2), selector=schedule_selector("wp"), now=NOW)
    order: list[str] = []
    result = prune(None, location, planned, deleting=order.append)
    assert order == result.deleted == ["wp-1", "wp-2", "wp-3"]
    assert result.objects == 3 * 2 and not result.failed  # volumes.json and manifest.json each
    assert sorted(b.name for b in list_backups(store)) == ["db-1", "half-written", "manual", "wp-4", "wp-5"]
    assert [b.labels for b in list_backups(store) if b.name == "wp-5"] == [{SCHEDULE_LABEL: "wp"}]


def test_prune_refuses_a_read_only_location_before_any_write(store: MemoryStore) -> None:
    location = _location(store, "ReadOnly")
    planned = plan_prune(location, RetentionPolicy(keep_last=1), now=NOW)
    assert any(not p.decision.keep for p in planned)
    with pytest.raises(UsageError, match="ReadOnly"):
        prune(None, location, planned)
    assert location.store.counts.writes == 0
    assert len(list_backups(store)) == 8
