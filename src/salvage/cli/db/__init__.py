"""``salvage db``: database-consistent backups of PostgreSQL, their restore, and proof that they restore."""

import typer

from salvage.cli.db import backup, restore, verify

app = typer.Typer(help="Dump, restore and verify PostgreSQL databases (logical backups).", no_args_is_help=True)
for module in (backup, restore, verify):
    app.command(module.NAME)(module.command)
