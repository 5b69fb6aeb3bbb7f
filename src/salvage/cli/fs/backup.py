"""``salvage fs backup PATH``: back up a directory into a repository."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.fs.reporting import ProgressLines, ResultFile, progress_lines, report_result
from salvage.cli.repo.options import (
    OptionalRepoUrl, PasswordFile, PasswordSecretName, RepoLocation, open_named_repository,
)
from salvage.cli.repo.progress_display import progress_bars
from salvage.cli.repo.snapshots import human_bytes
from salvage.repo.backup import backup

NAME = "backup"


def command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The directory to back up.", show_default=False)],
    repo: OptionalRepoUrl = None,
    location: RepoLocation = None,
    password_file: PasswordFile = None,
    password_secret: PasswordSecretName = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag the snapshot (repeatable).")] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Host name to record (default: this machine's); the parent is looked up by it."),
    ] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Snapshot to compare against (default: the latest of this path).")
    ] = None,
    lines: ProgressLines = False,
    result_file: ResultFile = None,
) -> None:
    """Back up PATH; unchanged files are skipped, changed ones deduplicated by chunk.

    Exits 3 if some paths could not be read, or some of their extended attributes (they are
    listed; what could not be read is missing from the snapshot).

    Examples:
      salvage fs backup /srv/data --repo /srv/repo --password-file ./pw --tag daily
      salvage fs backup /srv/data --location minio --password-file ./pw
    """
    app = app_of(ctx)
    repository = open_named_repository(app, repo, location, password_file, password_secret)
    with progress_bars(app.terminal, "backup") as progress, \
            (progress_lines(progress) if lines else contextlib.nullcontext()):
        result = backup(repository, path, tags=tag or [], parent=parent or "auto", progress=progress, hostname=host)
    summary = result.summary
    if lines or result_file:
        # A pod's termination message holds 4 KiB: the first errors are enough to say what.
        report_result({"snapshot": result.snapshot_id, "parent": result.parent_id, "tree_digest": result.tree_digest,
                       **summary, "errors": summary["errors"][:10]}, lines=lines, path=result_file)
    elif app.output is not OutputFormat.table:
        app.terminal.data({"snapshot": result.snapshot_id, "parent": result.parent_id,
                           "tree_digest": result.tree_digest, **summary})
    else:
        for error in summary["errors"]:
            app.terminal.warn(error)
        app.terminal.line(
            f"snapshot {result.snapshot_id[:8]} saved: {summary['files_new']} new, {summary['files_changed']} changed, "
            f"{summary['files_unmodified']} unchanged files; {human_bytes(summary['bytes_processed'])} read, "
            f"{human_bytes(summary['bytes_added'])} added to the repository; tree digest {result.tree_digest}"
        )
    if summary["error_count"]:
        app.terminal.warn(f"{summary['error_count']} paths could not be read completely; "
                          "what could not be read is missing from the snapshot")
        raise typer.Exit(3)
