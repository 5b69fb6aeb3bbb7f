"""``salvage dev servers``: local S3, Azure Blob and GCS servers to try locations on."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.output import OutputFormat
from salvage.devcluster.servers import detached

app = typer.Typer(help="Start and stop local object-store servers (MinIO, Azurite, fake-gcs-server).",
                  no_args_is_help=True)

Name = Annotated[str, typer.Argument(help=f"The server: {', '.join(detached.NAMES)}.")]
Names = Annotated[list[str] | None, typer.Argument(help="Servers to stop (default: every one started here).")]


@app.command()
def up(ctx: typer.Context, name: Name = "minio") -> None:
    """Start a server from the cached builds on loopback, with a bucket `salvage`, and print
    the `salvage location add` line that uses it. It keeps running after the command.

    Build the servers first with `salvage dev build --test-servers`. fake-gcs-server takes no
    writes from Salvage (it lacks the XML API's object PUT), so its location is ReadOnly.

    Examples:
      salvage dev servers up minio
      salvage dev servers up azurite -o json
    """
    app = app_of(ctx)
    server = detached.up(name, app.terminal.info)
    if app.output is not OutputFormat.table:
        app.terminal.data(server.to_json())
        return
    app.terminal.info(f"{name} runs at {server.endpoint} (bucket {server.bucket}); its log is {server.log_path}; "
                      f"stop it with `salvage dev servers down {name}`. Use it with:")
    app.terminal.line(server.location_add())


@app.command()
def down(ctx: typer.Context, names: Names = None) -> None:
    """Stop servers and remove their data and logs.

    Examples:
      salvage dev servers down minio
      salvage dev servers down   # every one started here
    """
    term = app_of(ctx).terminal
    chosen = names or detached.present()
    if not chosen:
        term.info("no test server was started here")
    for name in chosen:
        detached.down(name, term.info)


@app.command()
def env(ctx: typer.Context) -> None:
    """Print shell exports for the running servers (credentials and endpoints, for the
    providers' own tools), and each one's `salvage location add` line as a comment.

    Examples:
      eval "$(salvage dev servers env)"
      aws s3 ls s3://salvage/
      salvage dev servers env -o json
    """
    app = app_of(ctx)
    servers = detached.running()
    if app.output is not OutputFormat.table:
        app.terminal.data([s.to_json() for s in servers])
        return
    if not servers:
        app.terminal.info("no test server runs here; start one with `salvage dev servers up minio`")
    for server in servers:
        app.terminal.line(f"# {server.name} at {server.endpoint}: {server.location_add()}")
        for line in server.exports():
            app.terminal.line(line)
