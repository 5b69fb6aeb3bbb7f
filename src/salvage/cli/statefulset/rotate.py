"""``salvage statefulset rotate STS -n NS --to-snapshot NEW``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.engines.statefulset.rotate import RotateRequest, rotate_statefulset
from salvage.model.errors import UsageError


def rotate(
    ctx: typer.Context,
    statefulset: Annotated[str, typer.Argument(help="The StatefulSet to move to a newer snapshot.")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the StatefulSet.")] = "default",
    to_snapshot: Annotated[str, typer.Option("--to-snapshot", help="The VolumeSnapshot the successor starts from.")] = "",
    claim_template: Annotated[str | None, typer.Option("--claim-template", help="The claim template the snapshot "
                                                       "fills (needed when there are several).")] = None,
    delete_old_snapshot: Annotated[bool, typer.Option("--delete-old-snapshot",
                                                      help="Also delete the snapshot the old one used.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the successor has to be Running.")] = 300.0,
) -> None:
    """Replace a StatefulSet by a successor whose claims start from a newer snapshot.

    Examples:
      salvage statefulset rotate consumer -n shop --to-snapshot data-0717
      salvage statefulset rotate consumer -n shop --to-snapshot data-0718 \\
          --delete-old-snapshot
    """
    app = app_of(ctx)
    if not to_snapshot:
        raise UsageError("Rotate to which snapshot? Pass --to-snapshot NAME.")
    with kube_client(app) as client, ProgressView(app.terminal, f"rotate {statefulset}") as view:
        report = rotate_statefulset(client, RotateRequest(
            statefulset=statefulset, namespace=namespace, snapshot=to_snapshot, claim_template=claim_template,
            delete_old_snapshot=delete_old_snapshot, timeout=timeout), view.update)
    if app.output is not OutputFormat.table:
        app.terminal.data(report.to_json())
        return
    term = app.terminal
    term.info(f"StatefulSet {report.namespace}/{report.new}: {report.replicas} replica(s) Running from "
              f"VolumeSnapshot {report.new_snapshot}")
    term.info(f"removed StatefulSet {report.old} (snapshot {report.old_snapshot or 'none'}) and claims "
              f"{', '.join(report.removed_claims) or 'none'}")
    if report.deleted_snapshot:
        term.info(f"deleted VolumeSnapshot {report.deleted_snapshot}")
    term.line(report.new)
