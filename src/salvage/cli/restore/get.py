"""``salvage restore get [NAME]``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.engines.restore_records import list_restores, load_restore


def get(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Restore name (default: all).")] = None) -> None:
    """List restores run from this machine.

    Examples:
      salvage restore get
      salvage restore get wp-nightly-20250716120000 -o json
    """
    app = app_of(ctx)
    restores = [load_restore(name, items=False)] if name else list_restores()
    if app.output is not OutputFormat.table:
        app.terminal.data(restores[0] if name else restores)
        return
    app.terminal.table(["name", "backup", "status", "created", "skipped", "failed", "completed"],
                       [(r["name"], r["backup"], r["phase"], r["counts"].get("created", 0),
                         r["counts"].get("skipped", 0), r["counts"].get("failed", 0), r["completed"])
                        for r in restores])
