"""Where the repository password comes from. There is no default password, on purpose.

Sources are tried in order: ``--password-file``, then ``SALVAGE_REPO_PASSWORD``. A
Kubernetes Secret source (the operator's) will implement :class:`PasswordSource` too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from salvage.repo.errors import PasswordMissingError, RepositoryError

ENV_VAR = "SALVAGE_REPO_PASSWORD"


class PasswordSource(Protocol):
    def read(self) -> str: ...


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


def password_source(password_file: Path | None, environ: Mapping[str, str] | None = None) -> PasswordSource:
    environ = os.environ if environ is None else environ
    if password_file is not None:
        return PasswordFile(password_file)
    if environ.get(ENV_VAR):
        return PasswordEnv(environ)
    raise PasswordMissingError(
        "no repository password given",
        hint=f"Pass --password-file FILE or set {ENV_VAR}; Salvage has no default password.",
    )
