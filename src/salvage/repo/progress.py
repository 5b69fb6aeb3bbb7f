"""Counters an operation updates and a front door reads (no callbacks, no output here).

Fields are plain ints updated from worker threads; a reader may see a slightly stale
value, which is fine for a progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Progress:
    files_total: int | None = None  # None until known (backup scans while it works)
    bytes_total: int | None = None
    files_done: int = 0
    bytes_done: int = 0
    finished: bool = False
