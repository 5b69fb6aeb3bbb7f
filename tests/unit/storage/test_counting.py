from __future__ import annotations

import pytest

from salvage.storage.counting import CountingStore
from salvage.storage.errors import ReadOnlyStoreError
from salvage.storage.memory import MemoryStore


def test_counts_reads_and_writes() -> None:
    store = CountingStore(MemoryStore())
    store.put("a", b"123")
    store.put_if_absent("b", b"4")
    store.get("a")
    store.delete("a")
    assert (store.counts.puts, store.counts.deletes, store.counts.gets) == (2, 1, 1)
    assert store.counts.bytes_written == 4
    assert store.counts.writes == 3


def test_read_only_refuses_and_never_reaches_the_inner_store() -> None:
    inner = MemoryStore()
    inner.put("a", b"1")
    store = CountingStore(inner, read_only=True)
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        store.put("b", b"2")
    with pytest.raises(ReadOnlyStoreError):
        store.delete("a")
    assert store.get("a") == b"1"
    assert [i.key for i in inner.list()] == ["a"]
    assert store.counts.writes == 2  # attempted, refused
