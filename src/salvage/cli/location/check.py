"""``salvage location check NAME``: reachability, permissions, format version."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.locations import open_location
from salvage.engines.location_checks import probe_location


def check(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Location name.")] = None) -> None:
    """Check that a location can be reached (and written, unless ReadOnly) and read its backups.

    Examples:
      salvage location check shared
    """
    checks = probe_location(open_location(name))
    app_of(ctx).terminal.table(["check", "result", "detail"], [(c.name, c.result, c.detail) for c in checks])
    if any(c.failed for c in checks):
        raise typer.Exit(1)
