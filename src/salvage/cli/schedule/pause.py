"""``salvage schedule pause NAME`` and ``salvage schedule unpause NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.engines.schedule_objects import set_paused

Name = Annotated[str, typer.Argument(help="Schedule name.")]


def pause(ctx: typer.Context, name: Name, namespace: OperatorNamespace = "salvage") -> None:
    """Stop a schedule making backups (its backups and retention stay as they are).

    Examples:
      salvage schedule pause nightly
    """
    _set(ctx, name, namespace, paused=True)


def unpause(ctx: typer.Context, name: Name, namespace: OperatorNamespace = "salvage") -> None:
    """Let a paused schedule make backups again, from its next run on.

    Examples:
      salvage schedule unpause nightly
    """
    _set(ctx, name, namespace, paused=False)


def _set(ctx: typer.Context, name: str, namespace: str, *, paused: bool) -> None:
    app = app_of(ctx)
    with kube_client(app) as client:
        set_paused(client, namespace, name, paused)
    app.terminal.line(f"schedule {name} {'paused' if paused else 'unpaused'}")
