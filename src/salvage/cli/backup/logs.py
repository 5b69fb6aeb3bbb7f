"""``salvage backup logs NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.catalog.reader import read_log
from salvage.cli.context import app_of
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.locations import open_location
from salvage.model.errors import NotFoundError


def logs(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Backup name.")], location: Location = None) -> None:
    """Print the backup's log.

    Examples:
      salvage backup logs wp-nightly
    """
    app = app_of(ctx)
    lines = read_log(open_location(location).store, name)
    if not lines:
        raise NotFoundError(f"Backup {name!r} has no log on this location.", hint="List backups with `salvage backup get`.")
    if app.output is not OutputFormat.table:
        app.terminal.data(lines)
        return
    for line in lines:
        app.terminal.line(f"{line['time']} {line['level']:7} {line['message']}")
