"""``salvage snapshot create``: snapshot a PVC, with optional consistency hooks."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.cli.snapshot.options import Namespace, Timeout, Wait, open_client
from salvage.engines.snapshot_hooks import DEFAULT_TIMEOUT, Hook, parse_command, parse_on_error, parse_timeout
from salvage.engines.volume_snapshots import CreateRequest, create_snapshot, is_ready


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new VolumeSnapshot.")],
    pvc: Annotated[str, typer.Option("--pvc", help="The PersistentVolumeClaim to snapshot.")],
    namespace: Namespace = None,
    snapshot_class: Annotated[
        str | None, typer.Option("--class", help="VolumeSnapshotClass (default: the driver's default class).")
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 300.0,
    pre_hook: Annotated[str | None, typer.Option(
        "--pre-hook", help="Command run before the snapshot in each pod that mounts the PVC "
        "(JSON array or shell words); replaces the pods' pre.hook.snapshot.salvage.io annotations.")] = None,
    post_hook: Annotated[str | None, typer.Option(
        "--post-hook", help="Command run after the snapshot is cut, even when it failed.")] = None,
    hook_container: Annotated[
        str | None, typer.Option("--hook-container", help="Container for --pre/--post-hook (default: the first).")
    ] = None,
    hook_timeout: Annotated[str, typer.Option("--hook-timeout", help="Time limit per hook, e.g. 30s.")] = "30s",
    hook_on_error: Annotated[
        str, typer.Option("--hook-on-error", help="fail: abort on a failing hook; continue: warn and go on.")
    ] = "fail",
) -> None:
    """Snapshot a PVC through its CSI driver (VolumeSnapshot), running hooks around it.

    Examples:
      # Snapshot claim data in namespace shop and wait until it is ready to use
      salvage snapshot create nightly --pvc data -n shop --wait

      # Flush the application around the snapshot
      salvage snapshot create nightly --pvc data --pre-hook sync --post-hook true
    """
    app = app_of(ctx)

    def hook(command: str | None) -> Hook | None:
        if command is None:
            return None
        return Hook(parse_command(command), hook_container,
                    parse_timeout(hook_timeout) if hook_timeout else DEFAULT_TIMEOUT, parse_on_error(hook_on_error))

    pre, post = hook(pre_hook), hook(post_hook)
    client, ns = open_client(app, namespace)
    request = CreateRequest(name=name, namespace=ns, pvc=pvc, snapshot_class=snapshot_class, wait=wait,
                            timeout=timeout, pre_hook=pre, post_hook=post)
    with client:
        snapshot = create_snapshot(client, request, report=app.terminal.info)
    if app.output is not OutputFormat.table:
        app.terminal.data(snapshot)
        return
    state = "ready" if is_ready(snapshot) else "not ready yet"
    app.terminal.line(f'volumesnapshot "{name}" created ({state})')
