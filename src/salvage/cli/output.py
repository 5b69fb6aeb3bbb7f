"""All terminal output goes through here: results to stdout, messages and errors to stderr.

Honours ``NO_COLOR`` (rich does) and prints plain lines when stdout is not a terminal, so
output pipes cleanly into other tools the way kubectl's does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


class Terminal:
    """One object for every kind of output a command makes."""

    def __init__(self, output: OutputFormat = OutputFormat.table, *, debug: bool = False) -> None:
        self.output = output
        self.debug = debug
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return self.err.is_terminal

    def line(self, text: str = "") -> None:
        """A plain result line on stdout (no markup interpretation)."""
        self.out.print(text, markup=False)

    def info(self, text: str) -> None:
        """Progress and narration: stderr, so stdout stays a clean result."""
        self.err.print(text, markup=False)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(text)}")

    def error(self, text: str, hint: str | None = None) -> None:
        self.err.print(f"[bold red]error:[/bold red] {_escape(text)}")
        if hint:
            self.err.print(_escape(hint))

    def data(self, value: Any) -> None:
        """Print a machine-readable value in the chosen format (json or yaml)."""
        if self.output is OutputFormat.yaml:
            sys.stdout.write(yaml.safe_dump(value, sort_keys=False))
        else:
            sys.stdout.write(json.dumps(value, indent=2) + "\n")
        sys.stdout.flush()

    def raw(self, text: str) -> None:
        """Text exactly as given on stdout (a multi-document YAML stream, for pipes)."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """A kubectl-like table: upper-case headers, no borders, columns padded."""
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for header in headers:
            table.add_column(header.upper(), no_wrap=True)
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        # Never truncate a cell to fit the terminal (a pipe gets 80 columns): names and
        # messages cut with an ellipsis are useless to scripts and to people.
        from rich.measure import Measurement

        needed = Measurement.get(self.out, self.out.options.update_width(10_000), table).maximum
        width = self.out.width
        self.out.width = max(width, needed)
        try:
            self.out.print(table)
        finally:
            self.out.width = width


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
