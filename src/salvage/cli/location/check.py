"""``salvage location check NAME``: reachability, permissions, format version."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from salvage.catalog import layout
from salvage.catalog.reader import list_backups
from salvage.cli.context import app_of
from salvage.locations import open_location
from salvage.model.errors import SalvageError


def check(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Location name.")] = None) -> None:
    """Check that a location can be reached (and written, unless ReadOnly) and read its backups.

    Examples:
      salvage location check shared
    """
    app = app_of(ctx)
    location = open_location(name)
    term = app.terminal
    checks: list[tuple[str, str, str]] = []
    try:
        backups = list_backups(location.store)
        checks.append(("list", "ok", f"{len(backups)} backup(s)"))
    except SalvageError as exc:
        checks.append(("list", "FAILED", exc.message))
        backups = []
    if location.spec.read_only:
        checks.append(("write", "skipped", "ReadOnly location: never written"))
    else:
        probe = f"{layout.ROOT}/.check-{secrets.token_hex(6)}"
        try:
            location.store.put(probe, b"salvage location check\n")
            location.store.get(probe)
            location.store.delete(probe)
            checks.append(("write", "ok", "put, get and delete of a probe object"))
        except SalvageError as exc:
            checks.append(("write", "FAILED", exc.message))
    unknown = [b.name for b in backups if b.phase == "UnsupportedFormat"]
    checks.append(("format", "FAILED" if unknown else "ok",
                   f"backups of unknown format version: {', '.join(unknown)}" if unknown
                   else f"format version {layout.FORMAT_VERSION}"))
    term.table(["check", "result", "detail"], checks)
    if any(result == "FAILED" for _c, result, _d in checks):
        raise typer.Exit(1)
