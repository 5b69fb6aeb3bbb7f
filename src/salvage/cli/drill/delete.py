"""``salvage drill delete NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import OperatorNamespace
from salvage.model.errors import NotFoundError
from salvage.operator.crds import item


def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Drill name (the resource `drill create` made).")],
    namespace: OperatorNamespace = "salvage",
) -> None:
    """Delete a Drill resource: it runs no more drills; its reports stay on the location
    (`salvage drill get` lists them).

    Examples:
      salvage drill delete shop-nightly
    """
    app = app_of(ctx)
    with kube_client(app) as client:
        if not client.delete_if_present(item("drills", namespace, name)):
            raise NotFoundError(f"There is no Drill {name!r} in namespace {namespace!r}; nothing was deleted.",
                                hint=f"List them with `kubectl get drills -n {namespace}`.")
    app.terminal.line(f"drill {name} deleted (its reports stay)")
