"""The whole command tree, walked from the root: every group and verb with its path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from salvage.cli.app import app


def walk(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    command = command if command is not None else typer.main.get_command(app)
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def verbs() -> list[tuple[tuple[str, ...], Any]]:
    return [(path, cmd) for path, cmd in walk() if not hasattr(cmd, "commands")]


def groups() -> list[tuple[tuple[str, ...], Any]]:
    return [(path, cmd) for path, cmd in walk() if hasattr(cmd, "commands")]
