"""``salvage restore logs NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.engines.restore_records import load_restore


def logs(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Restore name.")]) -> None:
    """One line per item restored, skipped or failed, then the warnings.

    Examples:
      salvage restore logs wp-nightly-20250716120000
    """
    report = load_restore(name)
    term = app_of(ctx).terminal
    for item in report["items"]:
        where = f"{item['namespace']}/" if item["namespace"] else ""
        reason = f": {item['reason']}" if item["reason"] else ""
        term.line(f"{item['action']:8} {item['resource']} {where}{item['name']}{reason}")
    for warning in report["warnings"]:
        term.line(f"warning  {warning}")
