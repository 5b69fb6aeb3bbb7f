"""A store wrapper that counts operations and can refuse writes.

A ReadOnly location must never be written; wrapping its store in ``CountingStore(...,
read_only=True)`` turns any write into :class:`ReadOnlyStoreError`, and the counters let a
test prove that no write was even attempted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from salvage.storage.base import ObjectInfo, Store
from salvage.storage.errors import ReadOnlyStoreError


@dataclass
class OperationCounts:
    puts: int = 0
    deletes: int = 0
    gets: int = 0
    lists: int = 0
    bytes_written: int = 0
    bytes_read: int = 0

    @property
    def writes(self) -> int:
        return self.puts + self.deletes


class CountingStore:
    def __init__(self, inner: Store, *, read_only: bool = False) -> None:
        self.inner = inner
        self.read_only = read_only
        self.counts = OperationCounts()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.inner.url

    def _write(self, key: str, size: int) -> None:
        with self._lock:
            self.counts.puts += 1
            self.counts.bytes_written += size
        if self.read_only:
            raise ReadOnlyStoreError(
                f"refused to write `{key}`: {self.inner.url} is read-only",
                hint="Use a location with access mode ReadWrite for this operation.",
            )

    def _read(self, size: int) -> None:
        with self._lock:
            self.counts.gets += 1
            self.counts.bytes_read += size

    def put(self, key: str, data: bytes) -> None:
        self._write(key, len(data))
        self.inner.put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        self._write(key, len(data))
        return self.inner.put_if_absent(key, data)

    def get(self, key: str) -> bytes:
        data = self.inner.get(key)
        self._read(len(data))
        return data

    def get_range(self, key: str, start: int, length: int) -> bytes:
        data = self.inner.get_range(key, start, length)
        self._read(len(data))
        return data

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            self.counts.lists += 1
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        with self._lock:
            self.counts.deletes += 1
        if self.read_only:
            raise ReadOnlyStoreError(
                f"refused to delete `{key}`: {self.inner.url} is read-only",
                hint="Use a location with access mode ReadWrite for this operation.",
            )
        self.inner.delete(key)
