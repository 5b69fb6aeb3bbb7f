"""``salvage drill describe NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.drill.run import show
from salvage.cli.options import Location
from salvage.engines.drill import load_drill
from salvage.locations import open_location


def describe(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Drill name.")],
             location: Location = None) -> None:
    """A drill's report: recovery point and time, seconds per phase, each check.

    Examples:
      salvage drill describe wp-nightly-drill-3f9a1c
    """
    app = app_of(ctx)
    show(app, load_drill(open_location(location), name))
