"""Which VolumeSnapshot each claim is recovered from: --from-snapshots and --snapshot-selector."""

from __future__ import annotations

from typing import Any

import pytest

from salvage.engines.statefulset.snapshot_choice import (
    newest_ready_per_claim,
    parse_snapshot_list,
)
from salvage.model.errors import UsageError

ALL = (0, 1, 2)


def test_a_plain_list_fills_the_ordinals_in_order() -> None:
    assert parse_snapshot_list("a, b,c", ["log"], "web", ALL) == {"log-web-0": "a", "log-web-1": "b",
                                                                  "log-web-2": "c"}
    assert parse_snapshot_list("b", ["log"], "web", (1,)) == {"log-web-1": "b"}, "--ordinals 1 takes the one"
    assert parse_snapshot_list("a,b", ["log"], "web", ALL) == {"log-web-0": "a", "log-web-1": "b"}, \
        "fewer: the missing ordinal is recover's to name"


def test_pairs_name_their_claims() -> None:
    assert parse_snapshot_list("log-web-2=c,wal-web-2=w", ["log", "wal"], "web", ALL) == {
        "log-web-2": "c", "wal-web-2": "w"}


@pytest.mark.parametrize(("text", "templates", "ordinals", "message"), [
    ("a,b", ["log", "wal"], ALL, "has 2 claim templates"),
    ("a,,b", ["log"], ALL, "empty entry"),
    ("a,log-web-1=b", ["log"], ALL, "mixes a plain list"),
    ("a,b,c,d", ["log"], ALL, "names 4 snapshots for 3 ordinal"),
    ("data-web-0=a", ["log"], ALL, "'data-web-0' is not a claim of StatefulSet web"),
    ("log-db-0=a", ["log"], ALL, "is not a claim of StatefulSet web"),
    ("log-web-0=", ["log"], ALL, "is not CLAIM=SNAPSHOT"),
    ("log-web-0=a,log-web-0=b", ["log"], ALL, "names claim log-web-0 twice"),
    ("log-web-0=a", ["log"], (1,), "is for ordinal 0, which is not recovered"),
    ("log-web-5=a", ["log"], ALL, "is for ordinal 5"),
])
def test_bad_lists_are_refused(text: str, templates: list[str], ordinals: tuple[int, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_snapshot_list(text, templates, "web", ordinals)


def _snapshot(name: str, claim: str | None, taken: str, *, ready: bool = True) -> dict[str, Any]:
    source = {"persistentVolumeClaimName": claim} if claim else {"volumeSnapshotContentName": "c"}
    return {"metadata": {"name": name, "creationTimestamp": taken}, "spec": {"source": source},
            "status": {"readyToUse": ready, "creationTime": taken}}


def test_the_selector_takes_the_newest_ready_snapshot_of_each_claim() -> None:
    found = [
        _snapshot("z-old", "log-web-0", "2024-05-20T11:00:00Z"),
        _snapshot("a-new", "log-web-0", "2024-05-20T12:00:00Z"),  # sorts first by name: time must win
        _snapshot("newest-but-failed", "log-web-0", "2024-05-20T13:00:00Z", ready=False),
        _snapshot("one", "log-web-1", "2024-05-20T10:00:00Z"),
        _snapshot("other-app", "log-db-1", "2024-05-20T14:00:00Z"),
        _snapshot("pre-provisioned", None, "2024-05-20T14:00:00Z"),
        _snapshot("not-recovered", "log-web-2", "2024-05-20T14:00:00Z"),
    ]
    chosen = newest_ready_per_claim(found, ["log"], "web", (0, 1))
    assert {claim: s["metadata"]["name"] for claim, s in chosen.items()} == {"log-web-0": "a-new", "log-web-1": "one"}


def test_the_selector_finds_nothing_when_no_snapshot_is_ready() -> None:
    assert newest_ready_per_claim([_snapshot("s", "log-web-0", "2024-05-20T11:00:00Z", ready=False)],
                                  ["log"], "web", ALL) == {}
