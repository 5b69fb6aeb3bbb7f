"""``salvage dev cluster``: start, inspect and stop real local control planes."""

import typer

app = typer.Typer(help="Start, inspect and stop a local Kubernetes cluster.", no_args_is_help=True)
