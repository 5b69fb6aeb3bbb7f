"""Reading seed 000's hello-stateful log: one `date -u` line a second, and where it has a gap."""

from __future__ import annotations

import datetime as dt

TIME_FORMAT = "%a %b %d %H:%M:%S UTC %Y"  # `date -u`, as the seed's log shows


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
