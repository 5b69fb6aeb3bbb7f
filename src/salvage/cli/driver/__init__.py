"""``salvage driver``: storage drivers that Salvage ships (long-running controllers)."""

import typer

from salvage.cli.driver.hostpath import hostpath
from salvage.cli.driver.hostpath_node import hostpath_node

app = typer.Typer(help="Run a storage driver shipped with Salvage.", no_args_is_help=True)
app.command()(hostpath)
app.command("hostpath-node")(hostpath_node)
