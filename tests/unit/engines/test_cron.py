"""Cron schedules: validation names the bad field; firings are right across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salvage.engines import cron
from salvage.model.errors import UsageError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def runs(expr: str, zone: str, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = cron.next_run(expr, zone, after)
        out.append(after)
    return out


# -- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, field", [
    ("61 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 32 * *", "day-of-month"),
    ("* * * 13 *", "month"), ("* * * * 8", "day-of-week"), ("60 * * * * *", "second"),
    ("0 61 * * * *", "minute"), ("*/0 * * * *", "minute"),
])
def test_validate_names_the_bad_field(expr, field):
    with pytest.raises(UsageError) as caught:
        cron.validate(expr, "UTC")
    assert f"the {field} field" in caught.value.message
    assert "five fields" in caught.value.hint


@pytest.mark.parametrize("expr", ["", "* * * *", "* * * * * * *", "@reboot"])
def test_validate_counts_fields(expr):
    with pytest.raises(UsageError, match="needs 5, or 6 with seconds"):
        cron.validate(expr, "UTC")


def test_validate_rejects_an_unknown_time_zone():
    with pytest.raises(UsageError, match="Unknown time zone 'Mars/Base'") as caught:
        cron.validate("0 2 * * *", "Mars/Base")
    assert "IANA" in caught.value.hint


@pytest.mark.parametrize("expr", ["0 2 * * *", "*/15 * * * * *", "@daily", "@HOURLY", "0 0 L * *",
                                  "0 3 * * MON-FRI", "0 0 1 */3 *", " 5  4 * * * "])
def test_validate_accepts(expr):
    cron.validate(expr, BERLIN)


# -- firings --------------------------------------------------------------------------------------

def test_seconds_field_leads():
    after = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert runs("*/20 * * * * *", "UTC", after, 3) == [after + timedelta(seconds=s) for s in (20, 40, 60)]


def test_out_is_utc_and_after_may_be_in_any_zone():
    after = local(NEW_YORK, 2026, 1, 1, 23, 0)  # 04:00 UTC on Jan 2
    fire = cron.next_run("0 5 * * *", "UTC", after)
    assert fire == datetime(2026, 1, 2, 5, 0, tzinfo=UTC)
    assert fire.tzinfo is UTC


def test_time_zone_shifts_the_run():
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert cron.next_run("0 2 * * *", "UTC", after) == datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert cron.next_run("0 2 * * *", BERLIN, after) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert cron.next_run("0 2 * * *", NEW_YORK, after) == datetime(2026, 1, 1, 7, tzinfo=UTC)


def test_spring_forward_runs_a_skipped_time_once_right_after_the_gap():
    # Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    fires = runs("30 2 * * *", BERLIN, local(BERLIN, 2026, 3, 28, 12, 0), 3)
    assert [f.astimezone(ZoneInfo(BERLIN)).isoformat() for f in fires] == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]


def test_spring_forward_hourly_job_loses_the_missing_hour():
    fires = runs("0 * * * *", BERLIN, local(BERLIN, 2026, 3, 29, 0, 30), 3)
    assert fires == [datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC),
                     datetime(2026, 3, 29, 2, tzinfo=UTC)]


def test_fall_back_runs_a_fixed_time_job_once():
    # Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice on the wall clock.
    fires = runs("30 2 * * *", BERLIN, local(BERLIN, 2026, 10, 24, 12, 0), 2)
    assert [f.astimezone(ZoneInfo(BERLIN)).isoformat() for f in fires] == [
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_fall_back_from_inside_the_repeated_hour_never_goes_back():
    after = local(BERLIN, 2026, 10, 25, 2, 10, fold=1)  # the second 02:10, after the job ran
    fire = cron.next_run("30 2 * * *", BERLIN, after)
    assert fire > after
    assert fire.astimezone(ZoneInfo(BERLIN)).isoformat() == "2026-10-26T02:30:00+01:00"


def test_fall_back_hourly_job_runs_every_real_hour():
    fires = runs("0 * * * *", BERLIN, local(BERLIN, 2026, 10, 25, 0, 30), 4)
    assert [b - a for a, b in pairwise(fires)] == [timedelta(hours=1)] * 3


def test_sub_second_after():
    after = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    assert cron.next_run("* * * * * *", "UTC", after) == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        cron.next_run("0 2 * * *", "UTC", datetime(2026, 1, 1))


# -- missed runs and intervals ----------------------------------------------------------------------

def test_missed_runs_counts_the_half_open_window():
    last = datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert cron.missed_runs("0 2 * * *", "UTC", last, last) == 0
    assert cron.missed_runs("0 2 * * *", "UTC", last, last + timedelta(days=3)) == 3
    assert cron.missed_runs("0 2 * * *", "UTC", last, last + timedelta(days=3, seconds=-1)) == 2


def test_missed_runs_is_capped():
    last = datetime(2026, 1, 1, tzinfo=UTC)
    assert cron.missed_runs("* * * * * *", "UTC", last, last + timedelta(days=365)) == 100
    assert cron.missed_runs("* * * * * *", "UTC", last, last + timedelta(days=365), limit=7) == 7


def test_expected_interval():
    at = datetime(2026, 1, 7, 12, tzinfo=UTC)  # a Wednesday
    assert cron.expected_interval_seconds("0 2 * * *", "UTC", at) == 86400
    assert cron.expected_interval_seconds("*/15 * * * * *", "UTC", at) == 15
    assert cron.expected_interval_seconds("0 * * * *", "UTC", at) == 3600


def test_expected_interval_spans_the_weekend_on_a_weekday_schedule():
    sunday = datetime(2026, 1, 11, 12, tzinfo=UTC)
    assert cron.expected_interval_seconds("0 2 * * MON-FRI", "UTC", sunday) == 3 * 86400


def test_expected_interval_counts_a_firing_exactly_at():
    at = datetime(2026, 1, 7, 2, tzinfo=UTC)
    assert cron.expected_interval_seconds("0 2 * * *", "UTC", at) == 86400


def test_expected_interval_on_a_dst_day_is_real_time():
    at = local(BERLIN, 2026, 3, 29, 12, 0)  # the day is 23 hours long
    assert cron.expected_interval_seconds("0 0 * * *", BERLIN, at) == 23 * 3600


# -- properties -----------------------------------------------------------------------------------

ZONES = ["UTC", BERLIN, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
EXPRESSIONS = ["30 2 * * *", "0 * * * *", "*/7 * * * *", "15,45 1-3 * * *", "0 0 * * 0",
               "*/20 * * * * *", "0 30 2 * * *", "0 0 1 * *", "59 23 L * *", "0 3 * * MON-FRI"]


def _offset_changes(year: int) -> list[datetime]:
    """Every moment of ``year`` (to the hour) when one of ZONES changes its UTC offset."""
    changes = []
    for zone in map(ZoneInfo, ZONES):
        moment = datetime(year, 1, 1, tzinfo=UTC)
        while moment.year == year:
            step = moment + timedelta(hours=1)
            if moment.astimezone(zone).utcoffset() != step.astimezone(zone).utcoffset():
                changes.append(step)
            moment = step
    return changes


# Two years at second resolution, half of them within four hours of a DST change.
MOMENTS = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(lambda change, seconds: change + timedelta(seconds=seconds),
              st.sampled_from(_offset_changes(2026)), st.integers(-4 * 3600, 4 * 3600)),
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXPRESSIONS), st.sampled_from(ZONES), MOMENTS)
def test_next_run_is_after_and_utc(expr, zone, moment):
    fire = cron.next_run(expr, zone, moment)
    assert fire > moment
    assert fire.tzinfo is UTC


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXPRESSIONS), st.sampled_from(ZONES), MOMENTS, st.integers(0, 3 * 86400))
def test_next_run_is_monotone(expr, zone, moment, gap):
    later = moment + timedelta(seconds=gap)
    assert cron.next_run(expr, zone, moment) <= cron.next_run(expr, zone, later)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EXPRESSIONS), st.sampled_from(ZONES), MOMENTS)
def test_nothing_fires_between_a_moment_and_its_next_run(expr, zone, moment):
    fire = cron.next_run(expr, zone, moment)
    just_before = fire - timedelta(seconds=1)
    if just_before > moment:
        assert cron.next_run(expr, zone, just_before) == fire
    assert cron.missed_runs(expr, zone, moment, fire) == 1
    assert cron.missed_runs(expr, zone, moment, just_before) == 0
