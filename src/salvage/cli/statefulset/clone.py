"""``salvage statefulset clone --snapshot S --to NAME -n NS``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.cli.statefulset.manifest import load_statefulset
from salvage.engines.statefulset.clone import CloneRequest, clone_statefulset
from salvage.model.errors import UsageError


def clone(
    ctx: typer.Context,
    snapshot: Annotated[str, typer.Option("--snapshot", help="The VolumeSnapshot every replica starts from.")] = "",
    to: Annotated[str, typer.Option("--to", help="The new StatefulSet's name.")] = "",
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the snapshot and the clone.")] = "default",
    replicas: Annotated[int | None, typer.Option("--replicas", help="Replicas (default: the source's).")] = None,
    from_manifest: Annotated[Path | None, typer.Option("--from-manifest", help="Copy this StatefulSet manifest.")] = None,
    from_statefulset: Annotated[str | None, typer.Option("--from-statefulset", help="Copy this existing StatefulSet.")] = None,
    claim_template: Annotated[str | None, typer.Option("--claim-template", help="The claim template the snapshot "
                                                       "fills (needed when there are several).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for all pods to be Running.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 300.0,
) -> None:
    """Start a StatefulSet whose claims take a VolumeSnapshot as their data source.

    Examples:
      salvage statefulset clone --snapshot data-0716 --to consumer -n shop \\
          --replicas 3 --from-manifest consumer.yaml
    """
    app = app_of(ctx)
    if not snapshot or not to:
        raise UsageError("Pass the snapshot and the new name: --snapshot S --to NAME.")
    if bool(from_manifest) == bool(from_statefulset):
        raise UsageError("Copy which StatefulSet? Pass one of --from-manifest FILE or --from-statefulset NAME.")
    source = load_statefulset(from_manifest) if from_manifest else str(from_statefulset)
    with kube_client(app) as client, ProgressView(app.terminal, f"clone {to}") as view:
        report = clone_statefulset(client, CloneRequest(
            snapshot=snapshot, name=to, namespace=namespace, source=source, replicas=replicas,
            claim_template=claim_template, wait=wait, timeout=timeout), view.update)
    if app.output is not OutputFormat.table:
        app.terminal.data(report.to_json())
        return
    state = "Running" if report.ready else "created (not waited for)"
    app.terminal.info(f"StatefulSet {report.namespace}/{report.name}: {report.replicas} replica(s) {state}, "
                      f"claims {', '.join(report.claims)} from VolumeSnapshot {report.snapshot}")
    app.terminal.line(report.name)
