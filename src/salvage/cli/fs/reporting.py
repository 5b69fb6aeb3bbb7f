"""What ``salvage fs backup|restore`` report to a program that runs them (the data mover):
progress as JSON lines on stdout, and the result as one JSON document in a file (a pod's
termination message), so the caller reads the outcome without parsing human output."""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from salvage.repo.progress import Progress

ProgressLines = Annotated[bool, typer.Option(
    "--progress-lines", help="Print progress as JSON lines on stdout (for programs).")]
ResultFile = Annotated[Path | None, typer.Option(
    "--result-file", help="Also write the result as JSON to this file (for programs).", dir_okay=False)]

_EVERY = 1.0


@contextmanager
def progress_lines(counters: Progress) -> Iterator[None]:
    """A line a second while the body runs: files and bytes done (and in all, once known), rate."""
    stop = threading.Event()
    started = time.monotonic()

    def emit() -> None:
        while not stop.wait(_EVERY):
            seconds = time.monotonic() - started
            line = {"event": "progress", "files": counters.files_done, "files_total": counters.files_total,
                    "bytes": counters.bytes_done, "bytes_total": counters.bytes_total,
                    "bytes_per_second": int(counters.bytes_done / seconds) if seconds else 0}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    thread = threading.Thread(target=emit, name="salvage-progress-lines", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def report_result(result: dict[str, Any], *, lines: bool, path: Path | None) -> None:
    """The result, with this process's peak memory (a mover pod's, for its limits)."""
    result = {**result, "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if lines:
        sys.stdout.write(json.dumps({"event": "result", **result}) + "\n")
        sys.stdout.flush()
    if path is not None:
        path.write_text(json.dumps(result))
