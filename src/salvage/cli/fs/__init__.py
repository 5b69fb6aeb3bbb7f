"""``salvage fs``: back up a directory into a repository and restore it."""

import typer

from salvage.cli.fs import backup, restore

app = typer.Typer(help="File-level backup and restore through a repository.", no_args_is_help=True)
for module in (backup, restore):
    app.command(module.NAME)(module.command)
