"""``salvage backup``: back up namespaces with their volumes, and manage backups."""

import typer

from salvage.cli.backup.create import create
from salvage.cli.backup.delete import delete
from salvage.cli.backup.describe import describe
from salvage.cli.backup.get import get
from salvage.cli.backup.logs import logs
from salvage.cli.backup.prune import prune_backups

app = typer.Typer(help="Create and manage backups.", no_args_is_help=True)
app.command()(create)
app.command()(get)
app.command()(describe)
app.command()(logs)
app.command()(delete)
app.command("prune")(prune_backups)
