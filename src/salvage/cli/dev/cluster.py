"""``salvage dev cluster``: start, inspect and stop real local control planes."""

from __future__ import annotations

import contextlib
import shlex
import time
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.devcluster.local_cluster import LocalCluster

app = typer.Typer(help="Start, inspect and stop a local Kubernetes cluster.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Cluster name.", envvar="SALVAGE_CLUSTER")]


@app.command()
def up(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Cluster name.", envvar="SALVAGE_CLUSTER")] = "salvage",
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="Number of kwok nodes (fake: no container runs).")] = 1,
    real_nodes: Annotated[int, typer.Option(
        "--real-nodes", min=0, max=1,
        help="Kubelet nodes where containers run for real (0 or 1; needs root).")] = 1,
    port: Annotated[int | None, typer.Option("--port", help="API server port (default: a free one).")] = None,
) -> None:
    """Build the components if needed, start the cluster, print its kubeconfig path.

    A cluster has one real node (kubelet and containerd: containers run) beside its kwok
    nodes; a machine runs one real node at a time, so a second cluster takes --real-nodes 0.

    Examples:
      salvage dev cluster up
      salvage dev cluster up --name dr --nodes 3 --real-nodes 0
    """
    term = app_of(ctx).terminal
    started = time.monotonic()
    cluster = LocalCluster(name)
    with term.err.status(f"starting cluster {name} ...") if term.interactive else contextlib.nullcontext():
        kubeconfig = cluster.up(nodes=nodes, real_nodes=real_nodes, apiserver_port=port, report=term.info)
    term.info(f"ready in {time.monotonic() - started:.1f}s; use it with: eval \"$(salvage dev cluster env {name})\"")
    term.line(str(kubeconfig))


@app.command()
def down(
    ctx: typer.Context,
    name: NameArg = "salvage",
    keep: Annotated[bool, typer.Option("--keep", help="Keep the cluster's data for a later `up`.")] = False,
) -> None:
    """Stop every process of the cluster and remove its state (unless --keep).

    Examples:
      salvage dev cluster down dr
      salvage dev cluster down --keep   # the default one; its data stays for `up`
    """
    LocalCluster(name).down(keep=keep, report=app_of(ctx).terminal.info)


@app.command()
def status(ctx: typer.Context, name: NameArg = "salvage") -> None:
    """Show each component and node of the cluster.

    Examples:
      salvage dev cluster status
      salvage dev cluster status dr -o json
    """
    app = app_of(ctx)
    result = LocalCluster(name).status()
    if app.output is not OutputFormat.table:
        app.terminal.data(result.to_json())
        return
    term = app.terminal
    term.line(f"cluster {result.name}: {'running' if result.running else 'NOT running'} at {result.server}")
    term.table(
        ["component", "running", "healthy", "pid"],
        [(c.name, _yes(c.running), _yes(c.healthy), c.pid or "-") for c in result.components],
    )
    if result.nodes:
        term.line()
        term.table(["node", "ready"], [(n.name, _yes(n.ready)) for n in result.nodes])
    if not result.running:
        raise typer.Exit(1)


@app.command()
def kubeconfig(name: NameArg = "salvage") -> None:
    """Print the path of the cluster's kubeconfig.

    Examples:
      salvage dev cluster kubeconfig dr
      kubectl --kubeconfig "$(salvage dev cluster kubeconfig)" get nodes
    """
    cluster = LocalCluster(name)
    cluster.status()  # fails clearly for an unknown cluster
    typer.echo(str(cluster.kubeconfig))


@app.command()
def env(name: NameArg = "salvage") -> None:
    """Print shell exports for the cluster: `eval "$(salvage dev cluster env)"`.

    Examples:
      eval "$(salvage dev cluster env)"
      kubectl get nodes
      salvage dev cluster env dr
    """
    cluster = LocalCluster(name)
    cluster.status()
    bindir = cluster.binary_dir()
    typer.echo(f"export KUBECONFIG={_quote(str(cluster.kubeconfig))}")
    typer.echo(f"export PATH={_quote(str(bindir))}:\"$PATH\"")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _quote(value: str) -> str:
    return shlex.quote(value)
