"""The semantics every Store promises (salvage.storage.base), checked per provider."""

from __future__ import annotations

import threading

import pytest

from salvage.storage.base import Store
from salvage.storage.errors import ObjectNotFoundError


def test_put_then_get_returns_the_same_bytes(store: Store) -> None:
    store.put("data/ab/abcdef", b"hello")
    assert store.get("data/ab/abcdef") == b"hello"
    assert store.size("data/ab/abcdef") == 5


def test_put_replaces_an_existing_object(store: Store) -> None:
    store.put("config", b"one")
    store.put("config", b"two!")
    assert store.get("config") == b"two!"


def test_missing_objects_raise_our_not_found(store: Store) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.get("nope")
    with pytest.raises(ObjectNotFoundError):
        store.size("nope")
    with pytest.raises(ObjectNotFoundError):
        store.get_range("nope", 0, 1)


def test_get_range_reads_a_slice(store: Store) -> None:
    store.put("k", bytes(range(100)))
    assert store.get_range("k", 10, 5) == bytes(range(10, 15))


def test_list_by_prefix_sees_only_that_prefix(store: Store) -> None:
    for key in ["data/00/a", "data/01/b", "index/c", "snapshots/d"]:
        store.put(key, key.encode())
    assert sorted(i.key for i in store.list("data/")) == ["data/00/a", "data/01/b"]
    assert sorted(i.key for i in store.list("data/01/")) == ["data/01/b"]
    assert {i.key: i.size for i in store.list()} == {
        "data/00/a": 9, "data/01/b": 9, "index/c": 7, "snapshots/d": 11,
    }


def test_delete_is_idempotent(store: Store) -> None:
    store.put("locks/x", b"1")
    store.delete("locks/x")
    store.delete("locks/x")
    assert list(store.list("locks/")) == []


def test_put_if_absent_creates_once(store: Store) -> None:
    assert store.put_if_absent("locks/a", b"first") is True
    assert store.put_if_absent("locks/a", b"second") is False
    assert store.get("locks/a") == b"first"


def test_put_if_absent_has_exactly_one_winner_under_a_race(store: Store) -> None:
    winners: list[int] = []
    barrier = threading.Barrier(8, timeout=10)

    def race(n: int) -> None:
        barrier.wait()
        if store.put_if_absent("locks/race", str(n).encode()):
            winners.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(winners) == 1
    assert store.get("locks/race") == str(winners[0]).encode()


ESCAPING_KEYS = ["", "/abs", "a//b", "../up", "a/./b", "dir/"]


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_keys_that_could_escape_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.put_if_absent(key, b"x")
