"""``salvage location get [NAME]``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.locations import get_location, list_locations


def get(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Location name.")] = None) -> None:
    """List backup locations, or show one.

    Examples:
      salvage location get
      salvage location get shared -o yaml
    """
    app = app_of(ctx)
    specs = [get_location(name)] if name else list_locations()
    if app.output is not OutputFormat.table:
        app.terminal.data([s.to_json() for s in specs] if not name else specs[0].to_json())
        return
    app.terminal.table(["name", "provider", "where", "access mode"],
                       [(s.name, s.provider, s.describe(), s.access_mode) for s in specs])
