"""The contract every object store implements.

Semantics a backend MUST provide (the repository's crash safety depends on them):

- **Read-after-write**: once ``put`` returns, ``get``, ``size`` and ``list`` of any
  caller see the new object (S3, Azure Blob and GCS are strongly consistent today).
- **Atomic put**: a reader sees either no object or the whole object, never a prefix.
  ``put`` replaces an existing object atomically.
- **Put-if-absent**: ``put_if_absent`` creates the object only when the key is free and
  says whether it did; two racing callers cannot both win.
- **List by prefix**: ``list`` yields every object whose key starts with the prefix, in
  no particular order, without loading the whole listing into memory.
- **Delete** is idempotent: deleting a missing key is not an error.

Keys are ``/``-separated relative paths of ASCII letters, digits, ``-``, ``_`` and ``.``.
Errors are :mod:`salvage.storage.errors`, never an SDK's exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


@runtime_checkable
class Store(Protocol):
    """A flat key → bytes store with the semantics in the module docstring."""

    @property
    def url(self) -> str:
        """Where this store points, for messages (never contains credentials)."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Write the whole object atomically, replacing any existing one."""
        ...

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write only if ``key`` is free; True if written, False if it already existed."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object; :class:`ObjectNotFoundError` if missing."""
        ...

    def get_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start``; :class:`ObjectNotFoundError` if missing."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes; :class:`ObjectNotFoundError` if missing."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (streamed, unordered)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that could escape a prefix or mean different things on different backends."""
    if not key or key.startswith("/") or key.endswith("/"):
        raise ValueError(f"invalid store key {key!r}")
    for part in key.split("/"):
        if part in {"", ".", ".."}:
            raise ValueError(f"invalid store key {key!r}")
    return key
