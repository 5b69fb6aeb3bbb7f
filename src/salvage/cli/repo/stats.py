"""``salvage repo stats``: how big the repository is and how well it deduplicates."""

from __future__ import annotations

import dataclasses

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl, open_repository
from salvage.cli.repo.snapshots import human_bytes
from salvage.repo.stats import stats

NAME = "stats"


def command(ctx: typer.Context, repo: RepoUrl, password_file: PasswordFile = None,
            password_secret: PasswordSecretName = None) -> None:
    """Show counts and sizes.

    Examples:
      salvage repo stats --repo /srv/repo --password-file ./pw
    """
    app = app_of(ctx)
    result = stats(open_repository(app, repo, password_file, password_secret))
    if app.output is not OutputFormat.table:
        app.terminal.data({**dataclasses.asdict(result), "compression_ratio": round(result.compression_ratio, 3)})
        return
    app.terminal.table(
        ["snapshots", "packs", "stored", "unique data", "compression"],
        [[
            result.snapshots,
            result.packs,
            human_bytes(result.stored_bytes),
            human_bytes(result.raw_data_bytes),
            f"{result.compression_ratio:.2f}x",
        ]],
    )
