"""``salvage dev images``: the images pods on the local cluster's real node run."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.devcluster.local_cluster import LocalCluster, list_clusters
from salvage.devcluster.images import builders as images
from salvage.model.errors import UsageError

app = typer.Typer(help="Build and list the images pods on the real node run (no registry needed).",
                  no_args_is_help=True)


@app.command()
def build(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(
        help="Images to build (default: all): pause, busybox, postgres, salvage.")] = None,
) -> None:
    """Build the images (only what changed), then import them into running real nodes.

    Examples:
      salvage dev images build
      salvage dev images build salvage
    """
    term = app_of(ctx).terminal
    chosen = tuple(_image(n) for n in names) if names else images.ALL
    images.build(chosen, term.info)
    for name in list_clusters():
        cluster = LocalCluster(name)
        if cluster.has_running_node():
            cluster.import_images(term.info)
    term.info("images ready: " + ", ".join(i.ref for i in chosen))


@app.command("list")
def list_images(ctx: typer.Context) -> None:
    """List the images by the name pods use (`image:`), and whether each is built.

    Examples:
      salvage dev images list
      salvage dev images list -o json
    """
    app = app_of(ctx)
    rows = [{"name": i.ref, "built": i.built, "size": i.archive.stat().st_size if i.built else None,
             "description": i.summary} for i in images.ALL]
    if app.output is not OutputFormat.table:
        app.terminal.data(rows)
        return
    app.terminal.table(
        ["NAME", "BUILT", "SIZE", "DESCRIPTION"],
        [(r["name"], "yes" if r["built"] else "no", f"{r['size'] / 2**20:.0f}Mi" if r["size"] else "-",
          r["description"]) for r in rows],
    )


def _image(name: str) -> images.Image:
    try:
        return images.by_name(name)
    except KeyError:
        raise UsageError(f"There is no image named {name!r}.",
                         hint="Known images: " + ", ".join(i.name for i in images.ALL) + ".") from None
