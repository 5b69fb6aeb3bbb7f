"""Damage one object of a store, as a failing disk or a careless operator would, and undo it.

Every object gets the same three cases: one byte flipped (the middle one, all its bits, so
a text object stops being valid UTF-8 and a binary one changes wherever it is read),
truncated to half its length, and deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from salvage.storage.base import Store

DAMAGES = ("flip", "truncate", "delete")


def damaged(data: bytes, how: str, at: int | None = None) -> bytes | None:
    """The bytes after ``how`` (None: deleted); ``at`` picks the flipped byte (default the middle)."""
    if how == "flip":
        where = len(data) // 2 if at is None else at
        return data[:where] + bytes([data[where] ^ 0xFF]) + data[where + 1:]
    if how == "truncate":
        return data[: len(data) // 2]
    if how == "delete":
        return None
    raise ValueError(how)


@contextlib.contextmanager
def damage(store: Store, key: str, how: str, at: int | None = None) -> Iterator[None]:
    """``key`` damaged for the duration of the block, restored byte for byte afterwards."""
    original = store.get(key)
    after = damaged(original, how, at)
    if after is None:
        store.delete(key)
    else:
        store.put(key, after)
    try:
        yield
    finally:
        store.put(key, original)
