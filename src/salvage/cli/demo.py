"""``salvage demo``: seed 000 end to end on a local cluster, in under a minute."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.options import Location
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.demo.story import APP, run_demo
from salvage.devcluster.cluster import LocalCluster
from salvage.locations import open_location
from salvage.model.progress import Event, Logged, Progress, Step


def demo(
    ctx: typer.Context,
    cluster: Annotated[str, typer.Option("--cluster", envvar="SALVAGE_DEMO_CLUSTER",
                                         help="Local cluster to start, or reuse if it is running.")] = "salvage",
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the demo app "
                                           "(replaced if it exists).")] = "salvage-demo",
    location: Location = None,
    stop: Annotated[bool, typer.Option("--stop/--keep", help="Remove the local cluster afterwards.")] = False,
) -> None:
    """Deploy hello-stateful, back it up, delete it and its volume, recover it with one command, show the log.

    Examples:
      salvage demo
      salvage demo --stop   # and remove the local cluster afterwards
    """
    app = app_of(ctx)
    term = app.terminal
    local = LocalCluster(cluster)
    try:
        with ProgressView(term, "demo") as view:
            result = run_demo(local, namespace, open_location(location), view.say, _narrated(view))
    finally:
        if stop and local.exists:
            local.down(report=term.info)
    if app.output is not OutputFormat.table:
        term.data(result.to_json())
        return
    for i, line in enumerate(result.log):
        if i == result.gap_at and result.gap_seconds:
            term.line(f"    ... {result.gap_seconds:.0f}s gap: {len(result.lost_lines)} line(s) written after the "
                      f"snapshot were lost with the volume, then the recovery ...")
        term.line(f"{line}    <- last line in the snapshot" if line == result.snapshot_last_line else line)
    term.info(f"{APP} recovered from backup {result.backup}; demo done in {result.seconds:.0f}s "
              f"(cluster {result.cluster} is {'removed' if stop else 'still running'}; "
              f"namespace {result.namespace})")


def _narrated(view: ProgressView) -> Progress:
    """The engines' steps and warnings; not every resource a backup counts."""
    def update(event: Event) -> None:
        if isinstance(event, Step) or (isinstance(event, Logged) and event.level != "info"):
            view.update(event)
    return update
