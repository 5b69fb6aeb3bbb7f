"""``salvage drill get [NAME]``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.engines.drill import list_drills, load_drill
from salvage.locations import open_location


def get(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Drill name (default: all).")] = None,
        location: Location = None) -> None:
    """List restore drills: on the location, and those kept on this machine.

    Examples:
      salvage drill get
      salvage drill get wp-nightly-drill-3f9a1c -o json
    """
    app = app_of(ctx)
    target = open_location(location)
    drills = [load_drill(target, name)] if name else list_drills(target)
    if app.output is not OutputFormat.table:
        app.terminal.data(drills[0] if name else drills)
        return
    app.terminal.table(
        ["name", "backup", "status", "recovery time", "checks", "started"],
        [(d["name"], d["backup"], d["phase"],
          f"{d['recovery_time_seconds']:.1f}s" if d.get("recovery_time_seconds") is not None else "-",
          f"{sum(c['passed'] for c in d['checks'])}/{len(d['checks'])}", d["started"]) for d in drills])
