"""``salvage snapshot delete``: delete a VolumeSnapshot (its content follows its class's deletionPolicy)."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.snapshot.options import Namespace, Timeout, Wait, open_client
from salvage.engines.volume_snapshots import delete_snapshot


def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The snapshot to delete.")],
    namespace: Namespace = None,
    wait: Wait = False,
    timeout: Timeout = 120.0,
) -> None:
    """Delete a volume snapshot; with deletionPolicy Delete its stored copy goes too, with Retain it stays.

    Examples:
      salvage snapshot delete nightly -n shop --wait
    """
    app = app_of(ctx)
    client, ns = open_client(app, namespace)
    with client:
        delete_snapshot(client, ns, name, wait=wait, timeout=timeout)
    app.terminal.line(f'volumesnapshot "{name}" deleted')
