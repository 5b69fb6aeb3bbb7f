"""``salvage db backup NAME``: dump a PostgreSQL server into the location's repository."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.db.options import Container, Databases, Namespace, Pod, Secret, StatefulSet, User, ref
from salvage.cli.kube import kube_client
from salvage.cli.options import Location, RepoPasswordFile, RepoPasswordSecret, repo_password
from salvage.cli.output import OutputFormat
from salvage.engines.database import DbBackupRequest, backup_database
from salvage.locations import open_location

NAME = "backup"


def command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Backup name (written once; never overwritten).")],
    namespace: Namespace = "default",
    pod: Pod = None,
    statefulset: StatefulSet = None,
    secret: Secret = None,
    user: User = None,
    container: Container = None,
    database: Databases = None,
    location: Location = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
) -> None:
    """Dump roles (pg_dumpall --globals-only) and each database (pg_dump -Fc) into
    the location's repository, run in the server's own container; row counts are
    taken in the dump's own snapshot. A failed dump leaves no backup.

    Examples:
      salvage db backup pg-nightly -n shop --statefulset pg --secret dbpass
    """
    app = app_of(ctx)
    request = DbBackupRequest(name, ref(namespace, pod, statefulset, secret, user, container),
                              tuple(database or ()), repo_password(app, repo_password_file, repo_password_secret))
    target = open_location(location)
    with kube_client(app) as client:
        outcome = backup_database(client, target, request, app.terminal.info)
    dumped = outcome.record.get("database") or {}
    if app.output is not OutputFormat.table:
        app.terminal.data({"name": name, "snapshot": outcome.record.get("snapshotHandle"),
                           "bytesAdded": outcome.bytes_added, **dumped})
        return
    for entry in dumped.get("databases", []):
        app.terminal.info(f"{entry['name']}: {entry['size']} bytes, {len(entry['tables'])} tables, "
                          f"sha256 {entry['sha256'][:16]}")
    app.terminal.info(f"backup {name} Completed: PostgreSQL {dumped.get('serverVersion')}, "
                      f"{outcome.bytes_added} bytes added to the repository in {outcome.seconds:.1f}s")
    app.terminal.line(name)
