"""Options every repository command shares, and opening the repository they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import App
from salvage.cli.options import password_from
from salvage.locations import open_location
from salvage.model.errors import UsageError
from salvage.repo.repository import Repository
from salvage.volumes.fs import repository as location_repository
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


# `salvage fs`: a repository by URL, or the one inside a backup location (what file-level
# volume backups and the data-mover pods use).
OptionalRepoUrl = Annotated[
    str | None,
    typer.Option("--repo", "-r", envvar="SALVAGE_REPO", show_default=False,
                 help="Repository: a directory, or s3://BUCKET/PREFIX?endpoint=..., az://..., gs://..."),
]
RepoLocation = Annotated[
    str | None,
    typer.Option("--location", show_default=False,
                 help="Use the repository of this backup location (where fs volume backups go) instead of --repo."),
]


def open_named_repository(app: App, url: str | None, location: str | None, password_file: Path | None,
                          password_secret: str | None, *, read_only: bool = False) -> Repository:
    """The repository at ``--repo URL`` or in ``--location NAME``: exactly one must be given."""
    if (url is None) == (location is None):
        raise UsageError("Name the repository with --repo URL or with --location NAME (one of them).",
                         hint="`salvage location get` lists the locations.")
    if url is not None:
        return open_repository(app, url, password_file, password_secret)
    password = password_from(app, password_file, password_secret).read()
    opened = open_location(location)
    return location_repository(opened.store, password, create=False, read_only=read_only or opened.spec.read_only)
