"""``salvage dev``: tools for developing and trying Salvage on a local cluster."""

import typer

from salvage.cli.dev import cluster, images, servers
from salvage.cli.dev.build import build

app = typer.Typer(help="Local development tools (a real local Kubernetes cluster).", no_args_is_help=True)
app.add_typer(cluster.app, name="cluster")
app.add_typer(images.app, name="images")
app.add_typer(servers.app, name="servers")
app.command()(build)
