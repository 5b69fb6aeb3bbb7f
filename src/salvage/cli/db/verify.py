"""``salvage db verify BACKUP``: restore the dumps into a scratch server and compare row counts."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import Location, RepoPasswordFile, RepoPasswordSecret, repo_password
from salvage.cli.output import OutputFormat
from salvage.engines.database import DbVerifyRequest, verify_database
from salvage.locations import open_location
from salvage.model.errors import UsageError

NAME = "verify"


def command(
    ctx: typer.Context,
    backup: Annotated[str, typer.Argument(help="The backup holding the dumps.")],
    image: Annotated[str | None, typer.Option(
        "--image", envvar="SALVAGE_POSTGRES_IMAGE",
        help="PostgreSQL image of the scratch server (default: postgres:MAJOR of the dump).")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="NAMESPACE/POD of the dump, when the backup holds several.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="pg_restore --jobs per database.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds for the scratch server to start.")] = 300.0,
    query: Annotated[list[str] | None, typer.Option(
        "--query", "-q", help="DATABASE=SQL run in the restored server; fails the check when it errors or "
                              "its first value is false (repeatable).")] = None,
    location: Location = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
) -> None:
    """Restore the backup's dumps into a scratch PostgreSQL in a scratch namespace,
    compare every table's row count with the one recorded at dump time, run the
    --query checks, and remove the namespace (also on failure). Exits 1 when a
    count differs or a query fails.

    Examples:
      salvage db verify pg-nightly --image postgres:15
      salvage db verify pg-nightly --query "shop=SELECT count(*) > 0 FROM orders"
    """
    app = app_of(ctx)
    request = DbVerifyRequest(backup, image, source, jobs, timeout,
                              repo_password(app, repo_password_file, repo_password_secret),
                              tuple(_query(q) for q in query or ()))
    with kube_client(app) as client:
        outcome = verify_database(client, open_location(location), request, app.terminal.info)
    rows = [(t.database, t.table, t.recorded, "missing" if t.restored is None else t.restored,
             "ok" if t.restored == t.recorded else "DIFFERS") for t in outcome.tables]
    queries = [{"database": q.database, "query": q.sql, "output": q.output, "error": q.error,
                "result": "ok" if q.ok else "FAILED"} for q in outcome.queries]
    if app.output is not OutputFormat.table:
        app.terminal.data({"backup": backup, "databases": outcome.databases, "seconds": round(outcome.seconds, 1),
                           "tables": [dict(zip(("database", "table", "recorded", "restored", "result"), r))
                                      for r in rows], "queries": queries})
    else:
        app.terminal.table(["DATABASE", "TABLE", "RECORDED", "RESTORED", "RESULT"], rows)
        if queries:
            app.terminal.table(["DATABASE", "QUERY", "OUTPUT", "RESULT"],
                               [(q["database"], q["query"], q["error"] or q["output"], q["result"]) for q in queries])
    if outcome.mismatches:
        app.terminal.error(f"Backup {backup}: {len(outcome.mismatches)} table(s) restored with other row counts "
                           "than were dumped.", "See the table above.")
        raise typer.Exit(1)
    if outcome.failed_queries:
        app.terminal.error(f"Backup {backup}: {len(outcome.failed_queries)} --query check(s) failed in the restored "
                           "server.", "See the table above.")
        raise typer.Exit(1)
    app.terminal.info(f"backup {backup} verified: {len(outcome.databases)} database(s), {len(rows)} tables, "
                      f"row counts equal, {len(queries)} queries passed ({outcome.seconds:.0f}s)")


def _query(text: str) -> tuple[str, str]:
    database, _, sql = text.partition("=")
    if not database.strip() or not sql.strip():
        raise UsageError(f"--query {text!r} is not DATABASE=SQL.",
                         hint="e.g. --query \"shop=SELECT count(*) > 0 FROM orders\".")
    return database.strip(), sql.strip()
