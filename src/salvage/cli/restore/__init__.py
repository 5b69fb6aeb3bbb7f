"""``salvage restore``: restore backups into a cluster."""

import typer

from salvage.cli.restore.create import create
from salvage.cli.restore.describe import describe
from salvage.cli.restore.get import get
from salvage.cli.restore.logs import logs

app = typer.Typer(help="Restore backups and inspect restores.", no_args_is_help=True)
app.command()(create)
app.command()(get)
app.command()(describe)
app.command()(logs)
