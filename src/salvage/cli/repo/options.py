"""Options every repository command shares, and opening the repository they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salvage.repo.password import password_source
from salvage.repo.repository import Repository
from salvage.storage.factory import open_store_url

RepoUrl = Annotated[
    str,
    typer.Option(
        "--repo",
        "-r",
        envvar="SALVAGE_REPO",
        help="Repository location: a directory, or s3://BUCKET/PREFIX?endpoint=..., az://..., gs://...",
        show_default=False,
    ),
]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        envvar="SALVAGE_REPO_PASSWORD_FILE",
        help="File holding the repository password (else SALVAGE_REPO_PASSWORD; there is no default).",
        dir_okay=False,
    ),
]


def open_repository(url: str, password_file: Path | None, *, load_index: bool = True) -> Repository:
    password = password_source(password_file).read()
    return Repository.open(open_store_url(url), password, load_index=load_index)
