"""``salvage repo snapshots``: list the snapshots in a repository."""

from __future__ import annotations

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl, open_repository
from salvage.repo.snapshots import list_snapshots

NAME = "snapshots"


def command(ctx: typer.Context, repo: RepoUrl, password_file: PasswordFile = None,
            password_secret: PasswordSecretName = None) -> None:
    """List snapshots, oldest first (`-o json` for scripts).

    Examples:
      salvage repo snapshots --repo /srv/repo --password-file ./pw
      salvage repo snapshots --repo /srv/repo --password-file ./pw -o json
    """
    app = app_of(ctx)
    repository = open_repository(app, repo, password_file, password_secret, load_index=False)
    snapshots = list_snapshots(repository)
    if app.output is not OutputFormat.table:
        app.terminal.data([{"id": s.id, "short_id": s.short_id, **s.wire} for s in snapshots])
        return
    app.terminal.table(
        ["id", "time", "host", "tags", "paths", "files", "size"],
        (
            [
                s.short_id,
                s.wire["time"][:19].replace("T", " "),
                s.wire["hostname"],
                ",".join(s.wire["tags"]),
                ",".join(s.wire["paths"]),
                s.wire["summary"]["total_files"],
                human_bytes(s.wire["summary"]["total_bytes"]),
            ]
            for s in snapshots
        ),
    )


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
