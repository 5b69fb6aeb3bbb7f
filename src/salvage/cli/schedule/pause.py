"""``salvage schedule pause NAME`` and ``salvage schedule unpause NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.cli.schedule.objects import set_paused

Name = Annotated[str, typer.Argument(help="Schedule name.")]


def pause(ctx: typer.Context, name: Name, namespace: OperatorNamespace = "salvage") -> None:
    """Stop a schedule making backups (its backups and retention stay as they are).

    Examples:
      salvage schedule pause nightly
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        set_paused(client, namespace, name, True)
    app.terminal.line(f"schedule {name} paused")


def unpause(ctx: typer.Context, name: Name, namespace: OperatorNamespace = "salvage") -> None:
    """Let a paused schedule make backups again, from its next run on.

    Examples:
      salvage schedule unpause nightly
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        set_paused(client, namespace, name, False)
    app.terminal.line(f"schedule {name} unpaused")
