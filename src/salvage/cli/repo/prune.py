"""``salvage repo prune``: forget snapshots by a retention policy and free unreferenced data."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.repo.options import PasswordFile, PasswordSecretName, RepoUrl, open_repository
from salvage.cli.repo.snapshots import human_bytes
from salvage.repo.prune import prune
from salvage.repo.retention import RetentionPolicy

NAME = "prune"


def _keep(name: str, what: str) -> object:
    return typer.Option(f"--keep-{name}", min=0, help=f"Keep the newest snapshot of each of the last N {what}.")


def command(
    ctx: typer.Context,
    repo: RepoUrl,
    password_file: PasswordFile = None,
    password_secret: PasswordSecretName = None,
    keep_last: Annotated[int, typer.Option("--keep-last", min=0, help="Keep the N newest snapshots.")] = 0,
    keep_hourly: Annotated[int, _keep("hourly", "hours")] = 0,
    keep_daily: Annotated[int, _keep("daily", "days")] = 0,
    keep_weekly: Annotated[int, _keep("weekly", "ISO weeks")] = 0,
    keep_monthly: Annotated[int, _keep("monthly", "months")] = 0,
    keep_yearly: Annotated[int, _keep("yearly", "years")] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; change nothing.")] = False,
) -> None:
    """Apply the retention policy (none given: keep every snapshot) and delete unused data.

    Examples:
      # What would go, then prune for real
      export SALVAGE_REPO=/srv/repo SALVAGE_REPO_PASSWORD_FILE=./pw
      salvage repo prune --keep-daily 7 --keep-weekly 4 --dry-run
      salvage repo prune --keep-daily 7 --keep-weekly 4
    """
    app = app_of(ctx)
    policy = RetentionPolicy(keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly)
    repository = open_repository(app, repo, password_file, password_secret)
    report = prune(repository, policy, dry_run=dry_run)
    if app.output is not OutputFormat.table:
        app.terminal.data(
            {
                "dry_run": dry_run,
                "kept": [s.id for s in report.kept],
                "forgotten": [s.id for s in report.forgotten],
                "packs_deleted": report.packs_deleted,
                "packs_repacked": report.packs_repacked,
                "packs_written": report.packs_written,
                "bytes_freed": report.bytes_freed,
            }
        )
        return
    verb = "would forget" if dry_run else "forgot"
    app.terminal.line(f"{verb} {len(report.forgotten)} snapshots, keeping {len(report.kept)}")
    for snapshot in report.forgotten:
        app.terminal.line(f"  {snapshot.short_id}  {snapshot.wire['time'][:19]}  {','.join(snapshot.wire['paths'])}")
    verb = "would free" if dry_run else "freed"
    app.terminal.line(
        f"{verb} about {human_bytes(max(report.bytes_freed, 0))} "
        f"({report.packs_deleted} packs deleted, {report.packs_repacked} repacked)"
    )
