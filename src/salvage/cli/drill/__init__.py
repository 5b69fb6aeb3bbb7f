"""``salvage drill``: prove that backups restore, and how fast."""

import typer

from salvage.cli.drill.create import create
from salvage.cli.drill.delete import delete
from salvage.cli.drill.describe import describe
from salvage.cli.drill.get import get
from salvage.cli.drill.run import run

app = typer.Typer(help="Restore drills: restore a backup into scratch namespaces, check it, "
                       "measure the recovery time, clean up.", no_args_is_help=True)
app.command()(run)
app.command()(get)
app.command()(describe)
app.command()(create)
app.command()(delete)
