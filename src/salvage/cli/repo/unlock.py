"""``salvage repo unlock``: remove locks left by processes that are gone."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl, open_repository
from salvage.repo.locks import remove_locks

NAME = "unlock"


def command(
    ctx: typer.Context,
    repo: RepoUrl,
    password_file: PasswordFile = None,
    password_secret: PasswordSecretName = None,
    remove_all: Annotated[
        bool, typer.Option("--remove-all", help="Remove every lock, live or not (only if you know nothing runs).")
    ] = False,
) -> None:
    """Remove stale locks (not refreshed for 30 minutes, or whose process is gone).

    Examples:
      salvage repo unlock --repo /srv/repo --password-file ./pw
    """
    app = app_of(ctx)
    removed = remove_locks(open_repository(app, repo, password_file, password_secret, load_index=False), all_locks=remove_all)
    if app.output is not OutputFormat.table:
        app.terminal.data({"removed": removed})
        return
    app.terminal.line(f"removed {len(removed)} lock(s)")
