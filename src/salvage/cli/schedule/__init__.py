"""``salvage schedule``: Schedule objects, which the operator turns into backups."""

import typer

from salvage.cli.schedule.create import create
from salvage.cli.schedule.delete import delete
from salvage.cli.schedule.describe import describe
from salvage.cli.schedule.get import get
from salvage.cli.schedule.pause import pause, unpause

app = typer.Typer(help="Manage backup schedules (run by the operator).", no_args_is_help=True)
app.command()(create)
app.command()(get)
app.command()(describe)
app.command()(pause)
app.command()(unpause)
app.command()(delete)
