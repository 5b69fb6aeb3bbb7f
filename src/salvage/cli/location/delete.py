"""``salvage location delete NAME``: forget a location (its backups stay where they are)."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.locations import delete_location


def delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Location name.")]) -> None:
    """Remove a location's definition; no backup on it is deleted.

    Examples:
      salvage location delete shared
    """
    delete_location(name)
    app_of(ctx).terminal.info(f"location {name} removed from the configuration; its backups were not touched")
