"""Grandfather-father-son selection, restic's semantics: the one rule both the repository's
snapshot retention (repo/retention.py) and backup retention (engines/backup_retention.py) apply.

Over items newest first: keep the ``last`` newest, and the newest item of each of the
newest ``n`` hours (days, ISO weeks, months, years) *that have an item*; a period without
one does not use up a count. Periods are read off each item's time as given, so a caller
converts times to the zone its periods are counted in. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

# Each period: its name (the policy's count of the same name) and how an item's time names it.
PERIODS: tuple[tuple[str, Callable[[datetime], str]], ...] = (
    ("hourly", lambda t: t.strftime("%Y-%m-%d %H:00")),
    ("daily", lambda t: t.strftime("%Y-%m-%d")),
    ("weekly", lambda t: t.strftime("%G-W%V")),
    ("monthly", lambda t: t.strftime("%Y-%m")),
    ("yearly", lambda t: t.strftime("%Y")),
)


def kept_by(newest_first: Sequence[datetime], *, last: int = 0, hourly: int = 0, daily: int = 0, weekly: int = 0,
            monthly: int = 0, yearly: int = 0) -> list[list[tuple[str, str]]]:
    """For each item (by its time, newest first), the rules that keep it: ``("last", "")``
    and ``(period, name)`` pairs such as ``("daily", "2026-12-01")``; empty if none does."""
    counts = {"hourly": hourly, "daily": daily, "weekly": weekly, "monthly": monthly, "yearly": yearly}
    rules: list[list[tuple[str, str]]] = [[("last", "")] if i < last else [] for i in range(len(newest_first))]
    for period, name_of in PERIODS:
        seen: set[str] = set()
        for i, time in enumerate(newest_first):
            if len(seen) >= counts[period]:
                break
            name = name_of(time)
            if name not in seen:
                seen.add(name)
                rules[i].append((period, name))
    return rules
