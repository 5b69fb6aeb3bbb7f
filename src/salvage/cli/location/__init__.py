"""``salvage location``: where backups are stored."""

import typer

from salvage.cli.location.add import add
from salvage.cli.location.check import check
from salvage.cli.location.delete import delete
from salvage.cli.location.get import get

app = typer.Typer(help="Manage backup locations (filesystem, S3, Azure Blob, GCS).", no_args_is_help=True)
app.command()(add)
app.command()(get)
app.command()(check)
app.command()(delete)
