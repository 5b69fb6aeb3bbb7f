"""Errors a store raises; SDK and OS errors are translated into these ``from`` the original."""

from __future__ import annotations

from salvage.model.errors import NotFoundError, SalvageError


class StorageError(SalvageError):
    """The store refused or failed an operation (network, permissions, full disk)."""


class ObjectNotFoundError(NotFoundError):
    """The key does not exist in the store."""

    def __init__(self, key: str, *, hint: str | None = None) -> None:
        super().__init__(f"object `{key}` does not exist in the store", hint=hint)
        self.key = key


class ObjectExistsError(StorageError):
    """``put_if_absent`` found the key already there."""

    def __init__(self, key: str) -> None:
        super().__init__(f"object `{key}` already exists in the store")
        self.key = key


class ReadOnlyStoreError(StorageError):
    """A write was attempted on a store opened read-only."""
