"""``salvage repo check``: verify the repository's structure, and with --read-data every byte."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl, open_repository
from salvage.repo.check import check

NAME = "check"


def command(
    ctx: typer.Context,
    repo: RepoUrl,
    password_file: PasswordFile = None,
    password_secret: PasswordSecretName = None,
    read_data: Annotated[bool, typer.Option("--read-data", help="Download and verify every pack.")] = False,
) -> None:
    """Check the repository; exits 1 if anything is damaged or missing.

    Examples:
      salvage repo check --repo /srv/repo --password-file ./pw
      salvage repo check --repo /srv/repo --password-file ./pw --read-data
    """
    app = app_of(ctx)
    repository = open_repository(app, repo, password_file, password_secret, load_index=False)
    report = check(repository, read_data=read_data)
    if app.output is not OutputFormat.table:
        app.terminal.data(
            {
                "ok": report.ok,
                "errors": report.errors,
                "warnings": report.warnings,
                "snapshots": report.snapshots,
                "packs": report.packs,
                "blobs": report.blobs,
                "packs_read": report.packs_read,
            }
        )
    else:
        for warning in report.warnings:
            app.terminal.warn(warning)
        for error in report.errors:
            app.terminal.error(error)
        verdict = "no errors" if report.ok else f"{len(report.errors)} errors"
        read = f", read {report.packs_read} packs" if read_data else ""
        app.terminal.line(f"checked {report.snapshots} snapshots, {report.packs} packs, {report.blobs} blobs{read}: {verdict}")
    if not report.ok:
        raise typer.Exit(1)
