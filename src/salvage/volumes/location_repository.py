"""The location's repository, which the methods that store data in it (``fs``: files;
``postgresql``: dumps) share: opened with the password, created on a backup's first use."""

from __future__ import annotations

from salvage.model.errors import UsageError
from salvage.repo.errors import RepositoryNotFoundError
from salvage.repo.repository import Repository
from salvage.storage.base import Store
from salvage.storage.prefixed import PrefixedStore

REPOSITORY_PREFIX = "repository"
# Methods whose data is snapshots in the location's repository (deleted together, with prune).
REPOSITORY_METHODS = ("fs", "postgresql")


def require_password(password: str | None) -> str:
    if not password:
        raise UsageError(
            "File-level volume backup needs the repository password.",
            hint="Set SALVAGE_REPO_PASSWORD, or pass --repo-password-file or --repo-password-secret; "
                 "Salvage has no default password.")
    return password


def repository(location_store: Store, password: str | None, *, create: bool, read_only: bool = False) -> Repository:
    """The location's repository (created on first use when ``create``)."""
    password = require_password(password)
    store = PrefixedStore(location_store, REPOSITORY_PREFIX)
    try:
        return Repository.open(store, password, read_only=read_only)
    except RepositoryNotFoundError:
        if not create:
            raise
        return Repository.init(store, password)
