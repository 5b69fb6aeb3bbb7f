"""``salvage statefulset``: recover, clone and rotate StatefulSets with their volumes."""

import typer

from salvage.cli.statefulset.clone import clone
from salvage.cli.statefulset.recover import recover
from salvage.cli.statefulset.rotate import rotate

app = typer.Typer(help="Recover, clone and rotate StatefulSets with their volumes.", no_args_is_help=True)
app.command()(recover)
app.command()(clone)
app.command()(rotate)
