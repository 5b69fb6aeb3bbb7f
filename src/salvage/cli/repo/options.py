"""Options every repository command shares, and opening the repository they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import App
from salvage.cli.options import password_from
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
PasswordSecretName = Annotated[
    str | None,
    typer.Option(
        "--password-secret",
        envvar="SALVAGE_REPO_PASSWORD_SECRET",
        help="Kubernetes Secret holding the password: [NAMESPACE/]NAME[:KEY] (key default `password`, "
        "namespace default the kubeconfig context's); instead of --password-file.",
        show_default=False,
    ),
]


def open_repository(app: App, url: str, password_file: Path | None, password_secret: str | None, *,
                    load_index: bool = True) -> Repository:
    password = password_from(app, password_file, password_secret).read()
    return Repository.open(open_store_url(url), password, load_index=load_index)
