"""The stand-in for seed 000's hello-stateful container: one timestamp line a second."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Self

TIME_FORMAT = "%a %b %d %H:%M:%S UTC %Y"  # `date -u`, as the seed's log shows


class LogWriter:
    """Appends the current time to ``path`` every ``interval`` seconds until stopped."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"writer {path}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            # Open per line, like a process that logs and may die at any moment.
            with self.path.open("a") as log:
                log.write(dt.datetime.now(dt.UTC).strftime(TIME_FORMAT) + "\n")
            if self._stop.wait(self.interval):
                return


def parse_time(line: str) -> dt.datetime:
    return dt.datetime.strptime(line.strip(), TIME_FORMAT)


def widest_gap(lines: list[str]) -> tuple[int, float]:
    """(index of the first line after the widest gap, the gap in seconds); (0, 0) if none."""
    best = (0, 0.0)
    for i in range(1, len(lines)):
        gap = (parse_time(lines[i]) - parse_time(lines[i - 1])).total_seconds()
        if gap > best[1]:
            best = (i, gap)
    return best
