"""``salvage repo init``: create an empty repository at a location."""

from __future__ import annotations

import typer

from salvage.cli.context import app_of
from salvage.cli.options import password_from
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl
from salvage.repo.repository import Repository
from salvage.storage.factory import open_store_url

NAME = "init"


def command(ctx: typer.Context, repo: RepoUrl, password_file: PasswordFile = None,
            password_secret: PasswordSecretName = None) -> None:
    """Create a new repository, encrypted with the given password.

    Examples:
      salvage repo init --repo /srv/repo --password-file ./pw
      salvage repo init --repo s3://bucket/repo --password-secret backup/repo-pw
    """
    app = app_of(ctx)
    password = password_from(app, password_file, password_secret).read()
    store = open_store_url(repo)
    created = Repository.init(store, password)
    if app.output is not OutputFormat.table:
        app.terminal.data({"id": created.config.id, "url": store.url})
        return
    app.terminal.line(f"created repository {created.config.id} at {store.url}")
    app.terminal.info("Keep the password safe: without it the data cannot be recovered.")
