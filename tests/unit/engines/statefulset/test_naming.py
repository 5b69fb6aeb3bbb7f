from __future__ import annotations

import pytest

from salvage.engines.statefulset.naming import (
    BASE_ANNOTATION,
    REVISION_ANNOTATION,
    claim_name,
    claim_ordinal,
    parse_ordinals,
    successor_name,
)
from salvage.model.errors import UsageError


def test_claim_names_follow_the_statefulset_controller() -> None:
    assert claim_name("log", "hello-stateful", 0) == "log-hello-stateful-0"
    assert claim_ordinal("log-hello-stateful-12", "log", "hello-stateful") == 12
    assert claim_ordinal("log-hello-stateful-r2-0", "log", "hello-stateful") is None, "a successor's claim"
    assert claim_ordinal("log-hello-stateful-01", "log", "hello-stateful") is None


def test_ordinals_parse_lists_and_ranges() -> None:
    assert parse_ordinals(None) is None
    assert parse_ordinals("2,0") == (0, 2)
    assert parse_ordinals("0-2,5") == (0, 1, 2, 5)
    with pytest.raises(UsageError):
        parse_ordinals("one")


def test_successors_count_up_from_the_base_name() -> None:
    assert successor_name("consumer", {}) == ("consumer", 2, "consumer-r2")
    annotations = {BASE_ANNOTATION: "consumer", REVISION_ANNOTATION: "2"}
    assert successor_name("consumer-r2", annotations) == ("consumer", 3, "consumer-r3")
    base, _rev, name = successor_name("x" * 60, {})
    assert len(name) <= 52 and name.endswith("-r2") and base == "x" * 60
