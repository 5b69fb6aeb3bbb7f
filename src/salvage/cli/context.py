"""The application object handed to every command: global options and the terminal."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from salvage.cli.output import OutputFormat, Terminal


@dataclass
class App:
    kubeconfig: str | None = None
    context: str | None = None
    output: OutputFormat = OutputFormat.table
    debug: bool = False
    terminal: Terminal = field(default_factory=Terminal)


def app_of(ctx: typer.Context) -> App:
    """The App built by the root callback (a default one when a command runs alone in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App()
    return root.obj
