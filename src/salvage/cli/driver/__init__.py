"""``salvage driver``: storage drivers that Salvage ships (long-running controllers)."""

import typer

from salvage.cli.driver.hostpath import hostpath

app = typer.Typer(help="Run a storage driver shipped with Salvage.", no_args_is_help=True)
app.command()(hostpath)
