"""Rich progress bars (files, bytes, rate, ETA) fed from a :class:`salvage.repo.progress.Progress`.

The engine only bumps counters; a small thread copies them into the bars. Nothing is
drawn when stderr is not a terminal or the output is machine-readable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import (
    Progress as RichProgress,
)

from salvage.cli.output import OutputFormat, Terminal
from salvage.repo.progress import Progress


@contextmanager
def progress_bars(terminal: Terminal, label: str) -> Iterator[Progress]:
    counters = Progress()
    if not terminal.interactive or terminal.output is not OutputFormat.table:
        yield counters
        return
    bars = RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=terminal.err,
        transient=True,
    )
    task = bars.add_task(label, total=None)
    stop = threading.Event()

    def copy() -> None:
        while not stop.wait(0.2):
            # The bar tracks bytes (that is what the ETA is made of); files show in the text.
            bars.update(
                task,
                completed=counters.bytes_done,
                total=counters.bytes_total,
                description=f"{label} {counters.files_done}/{counters.files_total if counters.files_total is not None else '?'}",
            )

    with bars:
        thread = threading.Thread(target=copy, name="salvage-progress", daemon=True)
        thread.start()
        try:
            yield counters
        finally:
            stop.set()
            thread.join(timeout=5)
