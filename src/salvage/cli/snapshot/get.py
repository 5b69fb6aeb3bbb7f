"""``salvage snapshot get``: list VolumeSnapshots, or show one, like ``kubectl get``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.snapshot import view
from salvage.cli.snapshot.options import Namespace, open_client
from salvage.engines.volume_snapshots import get_snapshot, list_snapshots


def get(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One snapshot (default: all in the namespace).")] = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="List in every namespace.")] = False,
) -> None:
    """List volume snapshots (or show one): ready, source PVC, size, class, content, age.

    Examples:
      salvage snapshot get -n shop
      salvage snapshot get -A
      salvage snapshot get nightly -n shop -o yaml
    """
    app = app_of(ctx)
    client, ns = open_client(app, namespace)
    with client:
        if name:
            items = [get_snapshot(client, ns, name)]
        else:
            items = list_snapshots(client, None if all_namespaces else ns)
    if app.output is not OutputFormat.table:
        app.terminal.data(items[0] if name else {"apiVersion": "v1", "kind": "List", "items": items})
        return
    if not items:
        app.terminal.info("No resources found" + ("." if all_namespaces else f" in {ns} namespace."))
        return
    wide = all_namespaces and not name
    headers = (("namespace",) if wide else ()) + view.HEADERS
    rows = [([s["metadata"]["namespace"]] if wide else []) + view.row(s) for s in items]
    app.terminal.table(headers, rows)
