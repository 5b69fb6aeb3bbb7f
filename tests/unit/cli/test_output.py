"""Terminal tables: kubectl-like, and never cut short when piped."""

from __future__ import annotations

import io

from rich.console import Console

from salvage.cli.output import Terminal


def test_a_piped_table_keeps_every_cell_whole() -> None:
    terminal = Terminal()
    buffer = io.StringIO()
    terminal.out = Console(file=buffer, width=40, highlight=False, soft_wrap=True, no_color=True)
    long_name = "snapcontent-f45c7dad-9586-4650-8400-c87feda8e2bd"
    terminal.table(("name", "content", "age"), [["nightly", long_name, "5s"]])
    header, row = buffer.getvalue().splitlines()
    assert header.split() == ["NAME", "CONTENT", "AGE"]
    assert row.split() == ["nightly", long_name, "5s"]
    assert terminal.out.width == 40
