"""``salvage snapshot``: CSI volume snapshots of PVCs — take, list, inspect, delete, restore."""

import typer

from salvage.cli.snapshot.create import create
from salvage.cli.snapshot.delete import delete
from salvage.cli.snapshot.describe import describe
from salvage.cli.snapshot.get import get
from salvage.cli.snapshot.restore import restore

app = typer.Typer(help="Take and restore CSI volume snapshots of PVCs.", no_args_is_help=True)
for command in (create, get, describe, delete, restore):
    app.command()(command)
