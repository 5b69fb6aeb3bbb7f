"""Which backup a drill restores, chosen the same way for `drill run` and a Drill object:
the one named, or the newest Completed one its Schedule made."""

from __future__ import annotations

import pytest

from salvage.engines.drill import drilled_backup
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.locations import Location, LocationSpec
from salvage.model.errors import NotFoundError
from salvage.storage.memory import MemoryStore
from tests.support.backups import write_backup


@pytest.fixture
def location() -> Location:
    store = MemoryStore()
    write_backup(store, "wp-1", "2026-11-01T02:00:00Z", **{SCHEDULE_LABEL: "wp"})
    write_backup(store, "wp-2", "2026-11-02T02:00:00Z", **{SCHEDULE_LABEL: "wp"})
    write_backup(store, "wp-3", "2026-11-03T02:00:00Z", "PartiallyFailed", **{SCHEDULE_LABEL: "wp"})
    write_backup(store, "db-9", "2026-11-09T02:00:00Z", **{SCHEDULE_LABEL: "db"})
    write_backup(store, "manual", "2026-11-10T02:00:00Z")
    return Location(LocationSpec("mem", "filesystem", "/nowhere"), store)


def test_a_named_backup_is_drilled_as_named(location: Location) -> None:
    assert drilled_backup(location, "manual", None) == "manual"


def test_a_schedule_is_drilled_through_its_newest_completed_backup(location: Location) -> None:
    assert drilled_backup(location, None, "wp") == "wp-2"  # wp-3 is newer but PartiallyFailed
    assert drilled_backup(location, "", "db") == "db-9"


def test_a_schedule_with_no_completed_backup_is_named_with_the_way_to_look(location: Location) -> None:
    with pytest.raises(NotFoundError, match="Schedule 'web' has no Completed backup on location 'mem'") as none:
        drilled_backup(location, None, "web")
    assert none.value.hint == "List its backups with `salvage backup get -l salvage.io/schedule=web`."
