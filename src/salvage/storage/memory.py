"""An in-memory store: a real sibling of the other providers, for unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from salvage.storage.base import ObjectInfo, check_key
from salvage.storage.errors import ObjectNotFoundError


class MemoryStore:
    """A dict behind a lock; satisfies every semantic of :class:`salvage.storage.base.Store`."""

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return "memory://"

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._objects[check_key(key)] = bytes(data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        with self._lock:
            if check_key(key) in self._objects:
                return False
            self._objects[key] = bytes(data)
            return True

    def get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._objects[check_key(key)]
            except KeyError:
                raise ObjectNotFoundError(key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self.get(key)[start : start + length]

    def size(self, key: str) -> int:
        return len(self.get(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            snapshot = [(k, len(v)) for k, v in self._objects.items() if k.startswith(prefix)]
        for key, size in snapshot:
            yield ObjectInfo(key, size)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(check_key(key), None)

    def corrupt(self, key: str, data: bytes) -> None:
        """Replace an object's bytes behind the caller's back (tests of damage handling)."""
        with self._lock:
            self._objects[key] = data
