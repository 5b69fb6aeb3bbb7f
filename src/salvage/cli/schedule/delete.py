"""``salvage schedule delete NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.engines.schedule_objects import delete_schedule


def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Schedule name.")],
    namespace: OperatorNamespace = "salvage",
) -> None:
    """Delete a schedule; the backups it made stay (delete them with `salvage backup delete`).

    Examples:
      salvage schedule delete nightly
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        delete_schedule(client, namespace, name)
    app.terminal.line(f"schedule {name} deleted (its backups stay)")
