"""``salvage backup get [NAME]``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from salvage.catalog.reader import list_backups
from salvage.cli.context import app_of
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.engines.pruning import SCHEDULE_LABEL
from salvage.locations import open_location
from salvage.model.errors import NotFoundError


def get(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Backup name (default: all).")] = None,
    location: Location = None,
) -> None:
    """List backups on a location (those without a manifest show as Incomplete).

    Examples:
      # Every backup on the default location, then one as JSON
      salvage backup get
      salvage backup get wp-nightly -o json
    """
    app = app_of(ctx)
    target = open_location(location)
    backups = list_backups(target.store)
    if name:
        backups = [b for b in backups if b.name == name]
        if not backups:
            raise NotFoundError(f"There is no backup named {name!r} on location {target.name!r}.",
                                hint="List backups with `salvage backup get`.")
    if app.output is not OutputFormat.table:
        data = [asdict(b) for b in backups]
        app.terminal.data(data[0] if name else data)
        return
    app.terminal.table(["name", "status", "errors", "warnings", "items", "volumes", "created", "expires", "schedule"],
                       [(b.name, b.phase, b.errors, b.warnings, b.items, b.volumes, b.completed or "-",
                         b.expires or "-", b.labels.get(SCHEDULE_LABEL, "-")) for b in backups])
