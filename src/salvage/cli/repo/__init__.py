"""``salvage repo``: create, list, check, prune and inspect a file-level backup repository."""

import typer

from salvage.cli.repo import check, init, prune, snapshots, stats, unlock

app = typer.Typer(help="Manage a deduplicating, encrypted file repository.", no_args_is_help=True)
for module in (init, snapshots, check, prune, stats, unlock):
    app.command(module.NAME)(module.command)
