"""A reconciler's object becomes the engine's typed request, field by field (a Backup's:
tests/unit/engines/test_backup_objects.py)."""

from __future__ import annotations

import threading

from salvage.operator.controller import _WorkQueue
from salvage.operator.restores import restore_request


def test_restore_spec_to_request() -> None:
    request = restore_request("r1", {"backupName": "b1", "namespaceMapping": {"wp": "wp-copy"},
                                     "existingResourcePolicy": "update", "dryRun": True, "wait": False,
                                     "timeoutSeconds": 30}, None)
    assert (request.backup, request.namespace_map, request.existing_policy) == ("b1", {"wp": "wp-copy"}, "update")
    assert (request.dry_run, request.wait, request.timeout) == (True, False, 30.0)


def test_work_queue_holds_a_key_changed_in_flight_until_done() -> None:
    queue, stop = _WorkQueue(), threading.Event()
    queue.add(("backups", "a"))
    queue.add(("backups", "a"))
    assert queue.take(stop) == ("backups", "a")
    queue.add(("backups", "a"))  # changed while reconciled: not handed to a second worker
    assert queue.ready == []
    queue.done(("backups", "a"))
    assert queue.take(stop) == ("backups", "a")
    queue.done(("backups", "a"))
    queue.add_after(("backups", "b"), 0.05)
    assert queue.take(stop) == ("backups", "b")
