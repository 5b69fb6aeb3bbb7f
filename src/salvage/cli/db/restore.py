"""``salvage db restore BACKUP``: restore a backup's PostgreSQL dumps into a running server."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.db.options import Databases
from salvage.cli.kube import kube_client
from salvage.cli.options import Location, RepoPasswordFile, RepoPasswordSecret, repo_password
from salvage.engines.database import DatabaseRef, DbRestoreRequest, restore_database
from salvage.locations import open_location
from salvage.volumes.postgres import RestoreOptions

NAME = "restore"


def command(
    ctx: typer.Context,
    backup: Annotated[str, typer.Argument(help="The backup holding the dumps.")],
    target_namespace: Annotated[str | None, typer.Option(
        "--target-namespace", help="The server's namespace (default: the dumped one's).")] = None,
    target_pod: Annotated[str | None, typer.Option("--target-pod", help="The server's pod.")] = None,
    target_statefulset: Annotated[str | None, typer.Option(
        "--target-statefulset", help="The server's StatefulSet (its pod of ordinal 0).")] = None,
    target_secret: Annotated[str | None, typer.Option(
        "--target-secret", help="Secret with the target's password: NAME[/KEY] (default: its annotation).")] = None,
    target_user: Annotated[str | None, typer.Option("--target-user", help="Target user (default: postgres).")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="NAMESPACE/POD of the dump, when the backup holds several.")] = None,
    database: Databases = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="pg_restore --jobs per database.")] = 2,
    clean: Annotated[bool, typer.Option(
        "--clean", help="Drop and re-create databases that hold data (else they are refused).")] = False,
    scratch_dir: Annotated[str, typer.Option(
        "--scratch-dir", help="Directory in the server's container for each dump while pg_restore reads it.")] = "/tmp",
    location: Location = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
) -> None:
    """Restore roles and grants first (the target's own superuser keeps its
    password), then each database with pg_restore --jobs. Databases that hold
    data are refused before any change unless --clean.

    Examples:
      salvage db restore pg-nightly
      salvage db restore pg-nightly --target-namespace copy --target-pod pg-0 \\
          --target-secret dbpass --database shop --jobs 4
    """
    app = app_of(ctx)
    target = None
    if target_namespace or target_pod or target_statefulset or target_secret or target_user:
        target = DatabaseRef(target_namespace or "default", pod=target_pod, statefulset=target_statefulset,
                             secret=target_secret, user=target_user)
    request = DbRestoreRequest(backup, target, source,
                               RestoreOptions(jobs=jobs, clean=clean, databases=tuple(database or ()),
                                              scratch_dir=scratch_dir),
                               repo_password(app, repo_password_file, repo_password_secret))
    with kube_client(app) as client:
        restored = restore_database(client, open_location(location), request, app.terminal.info)
    app.terminal.info(f"restored {len(restored)} database(s) from backup {backup}: {', '.join(restored)}")
    for name in restored:
        app.terminal.line(name)
