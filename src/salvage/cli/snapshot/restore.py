"""``salvage snapshot restore``: a new PVC holding a snapshot's data."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.snapshot.options import Namespace, Timeout, Wait, open_client
from salvage.engines.volume_snapshot_restore import RestoreRequest, restore_snapshot


def restore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The VolumeSnapshot to restore.")],
    to_pvc: Annotated[str, typer.Option("--to-pvc", help="Name of the new PVC (must not exist).")],
    namespace: Namespace = None,
    storage_class: Annotated[str | None, typer.Option(
        "--storage-class", help="StorageClass of the new PVC (default: the source PVC's, else the default).")] = None,
    size: Annotated[str | None, typer.Option(
        "--size", help="Size of the new PVC, e.g. 2Gi (default: the snapshot's restore size).")] = None,
    wait: Wait = False,
    timeout: Timeout = 300.0,
) -> None:
    """Create a new PVC from a volume snapshot; an existing PVC is never overwritten.

    Examples:
      salvage snapshot restore nightly --to-pvc data-copy -n shop --wait
    """
    app = app_of(ctx)
    client, ns = open_client(app, namespace)
    request = RestoreRequest(snapshot=name, namespace=ns, to_pvc=to_pvc, storage_class=storage_class,
                             size=size, wait=wait, timeout=timeout)
    with client:
        claim = restore_snapshot(client, request, report=app.terminal.info)
    if app.output is not OutputFormat.table:
        app.terminal.data(claim)
        return
    phase = (claim.get("status") or {}).get("phase") or "Pending"
    app.terminal.line(f'persistentvolumeclaim "{to_pvc}" created from volumesnapshot "{name}" ({phase})')
