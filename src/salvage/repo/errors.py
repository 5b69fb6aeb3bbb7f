"""The repository's errors; each says what is wrong and what to do next."""

from __future__ import annotations

from salvage.model.errors import NotFoundError, SalvageError


class RepositoryError(SalvageError):
    """Something is wrong with the repository or an operation on it."""


class RepositoryNotFoundError(NotFoundError):
    """No repository (no ``config`` object) at the location."""


class RepositoryExistsError(RepositoryError):
    """``init`` found a repository already there."""


class UnsupportedVersionError(RepositoryError):
    """The repository (or one of its files) has a format version this Salvage cannot read."""


class PasswordMissingError(RepositoryError):
    """No password source was given; there is deliberately no default."""

    exit_code = 2


class WrongPasswordError(RepositoryError):
    """No key file in the repository opens with the given password."""


class CorruptDataError(RepositoryError):
    """Data failed authentication or did not hash to its name."""


class DamagedSnapshotError(CorruptDataError):
    """What a restore needs is missing or damaged; found before anything was written.
    ``problems`` lists each one with the files it affects."""

    def __init__(self, message: str, *, problems: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


class MissingDataError(RepositoryError):
    """A pack or blob that the index or a tree references is not in the store."""


class RepositoryLockedError(RepositoryError):
    """Another process holds a lock that conflicts with the one we asked for."""


class SnapshotNotFoundError(NotFoundError):
    """No snapshot matches the given id or prefix."""


class RestoreIncompleteError(RepositoryError):
    """Restore finished, but some files could not be restored; the message names them."""


class TargetFullError(RepositoryError):
    """The restore target ran out of space."""


class UsageErrorInRepo(RepositoryError):
    """The request was ambiguous or malformed (e.g. a snapshot prefix matching several)."""

    exit_code = 2
