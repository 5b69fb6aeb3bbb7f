"""``salvage demo``: seed 000 (a volume lost, recovered) or seed 001 (PostgreSQL dumps on a
schedule, the namespace lost, restored) end to end on a local cluster."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from salvage.cli.context import App, app_of
from salvage.cli.options import Location, repo_password
from salvage.cli.output import OutputFormat
from salvage.cli.progress import ProgressView
from salvage.demo.postgres import OperatorHooks, PgDemoResult, run_postgres_demo
from salvage.demo.story import APP, run_demo
from salvage.devcluster.local_cluster import LocalCluster
from salvage.locations import open_location
from salvage.model.progress import Event, Logged, Progress, Step

DEMO_REPO_PASSWORD = "salvage-demo"  # the demo repository's, unless SALVAGE_REPO_PASSWORD says otherwise


class Story(str, Enum):
    hello_stateful = "hello-stateful"
    postgres = "postgres"


def demo(
    ctx: typer.Context,
    story: Annotated[Story, typer.Argument(
        help="hello-stateful: seed 000, a volume lost and recovered. postgres: seed 001, PostgreSQL dumped "
             "on a schedule by the operator, the namespace lost and restored, row counts compared.")
    ] = Story.hello_stateful,
    cluster: Annotated[str, typer.Option("--cluster", envvar="SALVAGE_DEMO_CLUSTER",
                                         help="Local cluster to start, or reuse if it is running.")] = "salvage",
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Namespace of the demo app "
                                                  "(replaced if it exists; default: salvage-demo, or "
                                                  "salvage-demo-pg for postgres).")] = None,
    location: Location = None,
    stop: Annotated[bool, typer.Option("--stop/--keep", help="Remove the local cluster afterwards.")] = False,
) -> None:
    """Run a seed's story on a local cluster: deploy, back up, lose it, bring it back, check.

    hello-stateful deploys a StatefulSet that logs the time, snapshots it, deletes
    it and its volume, recovers it with one command and shows the log's gap.
    postgres runs PostgreSQL with a client writing, installs the operator, lets a
    Schedule back the namespace up (database dumps), deletes the namespace,
    restores it and compares each table's rows; it exits 1 unless they match.
    Its repository password is SALVAGE_REPO_PASSWORD, else salvage-demo.

    Examples:
      salvage demo
      salvage demo postgres
      salvage demo --stop   # and remove the local cluster afterwards
    """
    app = app_of(ctx)
    local = LocalCluster(cluster)
    try:
        if story is Story.postgres:
            _postgres(app, local, namespace or "salvage-demo-pg", location, stop)
        else:
            _hello_stateful(app, local, namespace or "salvage-demo", location, stop)
    finally:
        if stop and local.exists:
            local.down(report=app.terminal.info)


def _hello_stateful(app: App, local: LocalCluster, namespace: str, location: str | None, stop: bool) -> None:
    term = app.terminal
    with ProgressView(term, "demo") as view:
        result = run_demo(local, namespace, open_location(location), view.say, _narrated(view))
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


def _postgres(app: App, local: LocalCluster, namespace: str, location: str | None, stop: bool) -> None:
    term = app.terminal
    password = repo_password(app, None, None) or DEMO_REPO_PASSWORD
    with ProgressView(term, "demo postgres") as view:
        result = run_postgres_demo(local, namespace, open_location(location), password, _operator(), view.say,
                                   _narrated(view))
    if app.output is not OutputFormat.table:
        term.data(result.to_json())
    else:
        _counts(app, result)
        term.info(f"PostgreSQL restored from scheduled backup {result.backup}: "
                  + ("every table's rows match the dump" if result.ok else "the counts DO NOT match")
                  + f"; the client {'logs in' if result.client_logs_in else 'CANNOT log in'} with its role; "
                  f"demo done in {result.seconds:.0f}s (cluster {result.cluster} is "
                  f"{'removed' if stop else 'still running'}; namespace {result.namespace})")
    if not result.ok:
        raise typer.Exit(1)


def _counts(app: App, result: PgDemoResult) -> None:
    app.terminal.table(["table", "in the dump", "live at deletion", "restored", ""],
                       [(t.table, t.dumped, "-" if t.at_deletion is None else t.at_deletion,
                         "-" if t.restored is None else t.restored, "ok" if t.dumped == t.restored else "DIFFERS")
                        for t in result.tables])


def _operator() -> OperatorHooks:
    """The operator's install and uninstall (demo/ does not import operator/)."""
    from salvage.operator.crds import API_VERSION
    from salvage.operator.install import NAME, install, manifests, uninstall

    def put(client: Any, host_paths: tuple[str, ...]) -> None:
        install(client, manifests(NAME, host_paths=host_paths))

    def remove(client: Any) -> None:
        uninstall(client, NAME)

    return OperatorHooks(NAME, API_VERSION, put, remove)


def _narrated(view: ProgressView) -> Progress:
    """The engines' steps and warnings; not every resource a backup counts."""
    def update(event: Event) -> None:
        if isinstance(event, Step) or (isinstance(event, Logged) and event.level != "info"):
            view.update(event)
    return update
