"""``salvage fs restore SNAPSHOT``: restore a snapshot (or some of its paths) into a directory."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.options import refuse_empty
from salvage.cli.output import OutputFormat
from salvage.cli.fs.reporting import ProgressLines, ResultFile, progress_lines, report_result
from salvage.cli.repo.options import (
    OptionalRepoUrl, PasswordFile, PasswordSecretName, RepoLocation, open_named_repository,
)
from salvage.cli.repo.progress_display import progress_bars
from salvage.cli.repo.snapshots import human_bytes
from salvage.model.errors import UsageError
from salvage.repo.digest import check_restored
from salvage.repo.restore_files import restore, xattr_summary
from salvage.repo.snapshots import find_snapshot

NAME = "restore"


def command(
    ctx: typer.Context,
    snapshot: Annotated[str, typer.Argument(help="Snapshot id (or a unique prefix), or `latest`.", show_default=False)],
    target: Annotated[Path, typer.Option("--target", "-t", help="Directory to restore into.", show_default=False)],
    repo: OptionalRepoUrl = None,
    location: RepoLocation = None,
    password_file: PasswordFile = None,
    password_secret: PasswordSecretName = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", "-i", callback=refuse_empty, help="Restore only this path, relative to the snapshot root (repeatable)."),
    ] = None,
    expect_digest: Annotated[str | None, typer.Option(
        "--expect-digest", help="Then read the restored files back and compare their tree digest with this "
        "one (a backup's treeDigest); exit 3 naming the paths that differ.")] = None,
    lines: ProgressLines = False,
    result_file: ResultFile = None,
) -> None:
    """Restore files; files whose data is damaged are refused and listed (exit 1).

    Examples:
      salvage fs restore latest -t /srv/back --repo /srv/repo --password-file ./pw

      # Only etc/nginx, from snapshot 4f2a; the repository named by the environment
      export SALVAGE_REPO=/srv/repo SALVAGE_REPO_PASSWORD_FILE=./pw
      salvage fs restore 4f2a --target /tmp/etc --include etc/nginx

      # Read the files back and compare with the digest the backup recorded
      salvage fs restore 4f2a -t /srv/back --expect-digest sha256:9c1e...
    """
    app = app_of(ctx)
    if expect_digest and include:
        raise UsageError("--expect-digest compares the whole tree; it cannot be used with --include.",
                         hint="Restore the whole snapshot to check its digest.")
    repository = open_named_repository(app, repo, location, password_file, password_secret, read_only=True)
    chosen = find_snapshot(repository, snapshot)
    with progress_bars(app.terminal, "restore") as progress, \
            (progress_lines(progress) if lines else contextlib.nullcontext()):
        result = restore(repository, chosen, target, include=include or [], progress=progress)
    checked = None
    if expect_digest:
        checked = check_restored(repository, chosen.tree, target, expect_digest)
    data = {"snapshot": chosen.id, "target": str(target), "files": result.files, "bytes": result.bytes,
            "xattrs_not_restored": result.xattrs_not_restored,
            "xattr_failures": result.xattr_failures, "xattr_failed_files": result.xattr_failed_files}
    if checked is not None:
        data["digest"] = checked.to_json()
    if lines or result_file:
        report_result({**data, "xattrs_not_restored": result.xattrs_not_restored[:10]}, lines=lines,
                      path=result_file)
    elif app.output is not OutputFormat.table:
        app.terminal.data(data)
    else:
        app.terminal.line(
            f"restored {result.files} files ({human_bytes(result.bytes)}) from snapshot {chosen.short_id} into {target}"
        )
    if result.xattr_failures:
        for line in result.xattrs_not_restored:
            app.terminal.warn(f"extended attributes not restored: {line}")
        app.terminal.warn(xattr_summary(result.xattr_failures, result.xattr_failed_files))
    if checked is not None and not checked.matches:
        app.terminal.error(f"the restored tree's digest {checked.restored} is not the recorded {checked.recorded}: "
                           + "; ".join(checked.differences))
        raise typer.Exit(3)
    if checked is not None and not (lines or result_file) and app.output is OutputFormat.table:
        app.terminal.line(f"tree digest {checked.restored} matches")
