"""``salvage dev build``: build (once) every component the local cluster runs."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.devcluster.build import ensure_components, ensure_node_components
from salvage.devcluster.servers import ensure_servers


def build(
    ctx: typer.Context,
    test_servers: Annotated[
        bool, typer.Option("--test-servers", help="Also build the object-store and cloud test servers.")
    ] = False,
    real_node: Annotated[
        bool, typer.Option("--real-node/--no-real-node", help="Also build the real node's components.")
    ] = True,
) -> None:
    """Build the cluster's components from their pinned Go modules (cached; skipped when built).

    Examples:
      salvage dev build
      salvage dev build --test-servers
    """
    term = app_of(ctx).terminal
    binaries = ensure_components(term.info)
    if real_node:
        ensure_node_components(term.info)
    if test_servers:
        ensure_servers(term.info)
    term.info(f"components ready; kubectl is {binaries.kubectl}")
