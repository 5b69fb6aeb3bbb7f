"""The location's repository, which the methods that store data in it (``fs``: files;
``postgresql``: dumps) share: opened with the password, created on a backup's first use."""

from __future__ import annotations

from salvage.model.errors import UsageError
from salvage.repo.errors import RepositoryExistsError, RepositoryNotFoundError
from salvage.repo.repository import Repository
from salvage.storage.base import Store
from salvage.storage.prefixed import PrefixedStore
from salvage.volumes.method import MethodContext, VolumeCaptureError

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
    try:
        return Repository.init(store, password)
    except RepositoryExistsError:
        # Another backup created it first (two fs backups starting together on a new location):
        # use that one, as if it had been there all along.
        return Repository.open(store, password, read_only=read_only)


def for_method(context: MethodContext, what: str) -> Repository:
    """The repository a method uses in ``context``: created on a backup's first use,
    read-only for restores; ``what`` names the data in the error without a store."""
    if context.store is None:
        raise VolumeCaptureError(f"{what} need the location's store, and none was given.")
    create = context.create_repository
    return repository(context.store, context.repo_password, create=create, read_only=not create)
