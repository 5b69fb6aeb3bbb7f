"""Cron schedules: when a Schedule fires, in its IANA time zone, correct across DST changes.

An expression has five fields (minute hour day-of-month month day-of-week) or six with a
leading seconds field, or is one of the macros ``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly``. The arithmetic is cronsim's, chosen over croniter because it
reads a six-field expression as seconds first (croniter reads the sixth field as seconds
*last* unless told otherwise) and keeps Debian cron's DST rules: a job at a fixed time in
the hour that a spring-forward skips runs once, at the first minute after the gap; a job
at a fixed time in the hour that a fall-back repeats runs once, not twice (croniter runs a
daily 02:30 backup twice that night). Jobs with a wildcard or step hour fire in both copies
of the repeated hour, as wall-clock time says they should.

Datetimes in are aware, in any zone; datetimes out are UTC. No I/O here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from salvage.model.errors import UsageError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_SECONDS_FIELDS = ("second", *_FIELDS)
_FORMAT_HINT = ("A schedule is five fields, 'minute hour day-of-month month day-of-week' "
                "(e.g. '30 2 * * *'), or six with a leading seconds field "
                "(e.g. '*/15 * * * * *'), or @hourly, @daily, @weekly, @monthly, @yearly.")


def validate(expr: str, time_zone: str) -> None:
    """Raise UsageError naming the bad field if ``expr`` in ``time_zone`` can never be run."""
    tz = zone(time_zone)
    for _ in CronSim(_expand(expr), datetime.now(tz)):
        return
    raise _never_fires(expr)


def next_run(expr: str, time_zone: str, after: datetime) -> datetime:
    """The first firing strictly after ``after``, in UTC."""
    for fire in _firings(expr, time_zone, after):
        return fire
    raise _never_fires(expr)


def missed_runs(expr: str, time_zone: str, last: datetime, now: datetime, limit: int = 100) -> int:
    """How many firings fell in (last, now], counted up to ``limit``."""
    count = 0
    for fire in _firings(expr, time_zone, last):
        if fire > now or count >= limit:
            break
        count += 1
    return count


def expected_interval_seconds(expr: str, time_zone: str, at: datetime) -> float:
    """The gap between the firing at or before ``at`` and the one after it.

    The gap that contains ``at`` (not the next two firings) so that a weekday-only schedule
    expects three days over a weekend and a stale-backup alert does not fire on Sunday.
    """
    _require_aware(at, "at")
    upcoming = next_run(expr, time_zone, at)
    previous = _previous_run(expr, time_zone, at)
    if previous is None:
        return (next_run(expr, time_zone, upcoming) - upcoming).total_seconds()
    return (upcoming - previous).total_seconds()


def _firings(expr: str, time_zone: str, after: datetime):
    """Firings strictly after ``after``, in UTC, strictly increasing."""
    _require_aware(after, "after")
    tz = zone(time_zone)
    sim = CronSim(_expand(expr), after.astimezone(tz))
    latest = after.astimezone(UTC)
    # cronsim can step back once when it starts inside the second copy of a repeated hour
    # (it answers the first copy's 02:30 for a start at 02:10 of the second); skip those.
    for fire in sim:
        fire_utc = fire.astimezone(UTC)
        if fire_utc > latest:
            latest = fire_utc
            yield fire_utc


def _previous_run(expr: str, time_zone: str, at: datetime) -> datetime | None:
    tz = zone(time_zone)
    # cronsim goes strictly before its start, at whole seconds: start one second later so
    # that a firing exactly at ``at`` counts.
    start = at.replace(microsecond=0) + timedelta(seconds=1)
    limit = at.astimezone(UTC)
    try:
        for fire in CronSim(_expand(expr), start.astimezone(tz), reverse=True):
            fire_utc = fire.astimezone(UTC)
            if fire_utc <= limit:
                return fire_utc
    except StopIteration:
        return None
    return None


def _never_fires(expr: str) -> UsageError:
    return UsageError(f"Schedule {expr!r} never fires (no matching date in 50 years).",
                      hint="Check the day-of-month and month fields together.")


def _expand(expr: str) -> str:
    """The expression with a macro replaced, checked field by field."""
    text = " ".join(expr.split())
    text = MACROS.get(text.lower(), text)
    fields = text.split(" ") if text else []
    if len(fields) not in (5, 6):
        raise UsageError(f"Schedule {expr!r} has {len(fields)} field(s); it needs 5, or 6 with seconds.",
                         hint=_FORMAT_HINT)
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise UsageError(_field_message(expr, fields, str(exc)), hint=_FORMAT_HINT) from exc
    return text


def _field_message(expr: str, fields: list[str], reason: str) -> str:
    names = _SECONDS_FIELDS if len(fields) == 6 else _FIELDS
    for name, value in zip(names, fields):
        if reason.lower() == f"bad {name}":
            return f"Schedule {expr!r}: the {name} field {value!r} is not valid."
    return f"Schedule {expr!r} is not valid: {reason}."


def zone(time_zone: str) -> ZoneInfo:
    """The IANA time zone ``time_zone``, or UsageError saying how to name one."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UsageError(f"Unknown time zone {time_zone!r}.",
                         hint="Use an IANA name such as 'UTC', 'Europe/Berlin' or "
                              "'America/New_York'.") from exc


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
