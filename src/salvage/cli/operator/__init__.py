"""``salvage operator``: the in-cluster controller of Backup, Restore and BackupLocation objects."""

import typer

from salvage.cli.operator.run import run

app = typer.Typer(help="Run the operator (in the cluster, or from here against it).", no_args_is_help=True)
app.command()(run)
