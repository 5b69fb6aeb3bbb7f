"""A store seen through a key prefix, so several users share one location without clashing
(a location holds backups under ``backups/`` and the file repository under ``repository/``)."""

from __future__ import annotations

from collections.abc import Iterator

from salvage.storage.base import ObjectInfo, Store, check_key


class PrefixedStore:
    def __init__(self, inner: Store, prefix: str) -> None:
        self.inner = inner
        self.prefix = check_key(prefix.strip("/")) + "/"

    @property
    def url(self) -> str:
        return f"{self.inner.url.rstrip('/')}/{self.prefix.rstrip('/')}"

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(self.prefix + key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        return self.inner.put_if_absent(self.prefix + key, data)

    def get(self, key: str) -> bytes:
        return self.inner.get(self.prefix + key)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self.inner.get_range(self.prefix + key, start, length)

    def size(self, key: str) -> int:
        return self.inner.size(self.prefix + key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for info in self.inner.list(self.prefix + prefix):
            yield ObjectInfo(info.key[len(self.prefix):], info.size)

    def delete(self, key: str) -> None:
        self.inner.delete(self.prefix + key)
