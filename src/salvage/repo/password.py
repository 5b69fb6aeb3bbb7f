"""Where the repository password comes from. There is no default password, on purpose.

Sources, in order: a password file (``--password-file``) or a Kubernetes Secret
(``--password-secret``, read by ``salvage.engines.password_secret``) — giving both is refused, as one would silently lose — and only
when neither is given, ``SALVAGE_REPO_PASSWORD``. A trailing newline is dropped from a
file's or a Secret's value (editors and ``echo`` add one; a password never ends in one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from salvage.model.errors import UsageError
from salvage.repo.errors import PasswordMissingError, RepositoryError

ENV_VAR = "SALVAGE_REPO_PASSWORD"


class PasswordSource(Protocol):
    def read(self) -> str: ...


class NamedPasswordSource(PasswordSource, Protocol):
    """A password kept under a name in a secret store: a Kubernetes Secret's key
    (``salvage.engines.password_secret``), so this package need not know Kubernetes."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class PasswordFile:
    path: Path

    def read(self) -> str:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RepositoryError(
                f"cannot read the password file {self.path}: {exc.strerror}",
                hint="Check the path given to --password-file.",
            ) from exc
        # A trailing newline comes from editors and `echo`, never from intent.
        password = text.rstrip("\r\n")
        if not password:
            raise PasswordMissingError(f"the password file {self.path} is empty")
        return password


@dataclass(frozen=True)
class PasswordEnv:
    environ: Mapping[str, str]

    def read(self) -> str:
        password = self.environ.get(ENV_VAR, "")
        if not password:
            raise PasswordMissingError(f"{ENV_VAR} is empty")
        return password


def password_source(
    password_file: Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    secret: NamedPasswordSource | None = None,
) -> PasswordSource:
    environ = os.environ if environ is None else environ
    if password_file is not None and secret is not None:
        raise UsageError(
            f"both a password file ({password_file}) and a password Secret ({secret.name}) were given",
            hint="Give only one: --password-file or --password-secret (or their SALVAGE_REPO_PASSWORD_FILE "
            "and SALVAGE_REPO_PASSWORD_SECRET variables).",
        )
    if password_file is not None:
        return PasswordFile(password_file)
    if secret is not None:
        return secret
    if environ.get(ENV_VAR):
        return PasswordEnv(environ)
    raise PasswordMissingError(
        "no repository password given",
        hint=f"Pass --password-file FILE or --password-secret [NAMESPACE/]NAME[:KEY], or set {ENV_VAR}; "
        "Salvage has no default password.",
    )
