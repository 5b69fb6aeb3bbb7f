"""``salvage restore describe NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.engines.restore_records import load_restore


def describe(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Restore name.")]) -> None:
    """Every item of a restore: created, skipped (and why), updated or failed (and why).

    Examples:
      salvage restore describe wp-nightly-20250716120000
    """
    app = app_of(ctx)
    report = load_restore(name)
    term = app.terminal
    if app.output is not OutputFormat.table:
        term.data(report)
        return
    term.line(f"Name:      {report['name']}\nBackup:    {report['backup']} (location {report['location']})\n"
              f"Phase:     {report['phase']}\nStarted:   {report['started']}\nCompleted: {report['completed']}\n")
    term.table(["resource", "namespace", "name", "result", "reason"],
               [(i["resource"], i["namespace"] or "", i["name"], i["action"], i["reason"]) for i in report["items"]])
    for warning in report["warnings"]:
        term.line(f"warning: {warning}")
