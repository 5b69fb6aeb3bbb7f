"""Retention: the GFS set, the floor of good backups, and idempotence, over synthetic histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salvage.engines.backup_retention import Candidate, Decision, RetentionPolicy, plan
from salvage.model.errors import UsageError

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


def kept(decisions: list[Decision]) -> set[str]:
    return {d.name for d in decisions if d.keep}


def by_name(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.name: d for d in decisions}


def nightly(days: int, phase: str = "Completed", start_days_ago: int = 0) -> list[Candidate]:
    return [Candidate(f"b-{start_days_ago + i:03d}", at(24 * (start_days_ago + i) + 7), phase) for i in range(days)]


# -- examples -------------------------------------------------------------------------------------

def test_daily_keeps_the_newest_of_each_of_the_newest_days():
    history = [Candidate("mon-a", datetime(2026, 11, 30, 1, tzinfo=UTC), "Completed"),
               Candidate("mon-b", datetime(2026, 11, 30, 13, tzinfo=UTC), "Completed"),
               Candidate("tue-a", datetime(2026, 12, 1, 1, tzinfo=UTC), "Completed"),
               Candidate("tue-b", datetime(2026, 12, 1, 13, tzinfo=UTC), "Completed")]
    decisions = by_name(plan(history, RetentionPolicy(daily=2, floor_completed=0), NOW))
    assert {n for n, d in decisions.items() if d.keep} == {"mon-b", "tue-b"}
    assert decisions["tue-b"].reasons == ("daily 2026-12-01",)
    assert decisions["mon-a"].reasons == ("no rule keeps it",)


def test_reasons_name_every_rule_that_keeps_a_backup():
    decisions = by_name(plan(nightly(3), RetentionPolicy(keep_last=1, daily=1, weekly=1, monthly=1,
                                                          yearly=1, floor_completed=3), NOW))
    assert decisions["b-000"].reasons == ("floor: among the newest 3 Completed", "last: among the newest 1 Completed",
                                          "daily 2026-12-02", "weekly 2026-W49", "monthly 2026-12", "yearly 2026")
    assert decisions["b-002"].reasons == ("floor: among the newest 3 Completed",)


def test_periods_are_counted_in_the_policy_time_zone():
    # 22:00 and 23:30 UTC on Dec 1: one day in UTC; 23:00 on Dec 1 and 00:30 on Dec 2 in Berlin.
    history = [Candidate("late", datetime(2026, 12, 1, 23, 30, tzinfo=UTC), "Completed"),
               Candidate("early", datetime(2026, 12, 1, 22, 0, tzinfo=UTC), "Completed")]
    assert kept(plan(history, RetentionPolicy(daily=2, floor_completed=0), NOW)) == {"late"}
    berlin = RetentionPolicy(daily=2, floor_completed=0, time_zone="Europe/Berlin")
    decisions = by_name(plan(history, berlin, NOW))
    assert decisions["late"].reasons == ("daily 2026-12-02",)
    assert decisions["early"].reasons == ("daily 2026-12-01",)


def test_the_floor_outlives_every_count():
    history = nightly(5, start_days_ago=400) + nightly(30, "Failed")
    decisions = by_name(plan(history, RetentionPolicy(daily=1, floor_completed=2), NOW))
    assert decisions["b-400"].reasons == ("floor: among the newest 2 Completed", "daily 2025-10-28")
    assert decisions["b-401"].reasons == ("floor: among the newest 2 Completed",)
    assert not decisions["b-402"].keep
    assert kept(plan(history, RetentionPolicy(floor_completed=1), NOW)) == {"b-400", "b-000"}


def test_failed_backups_go_but_the_newest_finished_one_stays_to_show_why():
    history = nightly(3, "Failed") + nightly(3, start_days_ago=3)
    decisions = by_name(plan(history, RetentionPolicy(keep_last=10), NOW))
    assert decisions["b-000"].keep
    assert decisions["b-000"].reasons == ("newest finished backup, Failed: kept until a newer one finishes",)
    assert not decisions["b-001"].keep and decisions["b-001"].reasons == ("Failed, and a newer backup finished",)
    assert all(decisions[f"b-00{i}"].keep for i in (3, 4, 5))


def test_partially_failed_fill_buckets_only_after_the_last_completed():
    history = nightly(4, "PartiallyFailed") + nightly(4, start_days_ago=4) + nightly(2, "PartiallyFailed", 8)
    decisions = by_name(plan(history, RetentionPolicy(daily=3, floor_completed=1), NOW))
    assert kept(decisions.values()) == {"b-000", "b-001", "b-002", "b-004", "b-005", "b-006"}
    assert decisions["b-000"].reasons == ("daily 2026-12-02 (PartiallyFailed, newer than every Completed)",)
    assert decisions["b-008"].reasons == ("PartiallyFailed, and a newer Completed backup exists",)


@pytest.mark.parametrize("phase, why", [("InProgress", "in progress"), ("New", "not started yet"),
                                        ("Incomplete", "Incomplete (no manifest): it may still be being written"),
                                        ("Deleting", "phase 'Deleting' is unknown to retention: kept")])
def test_unfinished_and_unknown_phases_are_never_deleted(phase, why):
    history = [Candidate("x", at(1000), phase), *nightly(3)]
    decision = by_name(plan(history, RetentionPolicy(floor_completed=0), NOW))["x"]
    assert decision == Decision("x", True, (why,))


def test_unknown_start_time_and_future_start_are_kept():
    history = [Candidate("incomplete", None, "Incomplete"), Candidate("odd", None, "Completed"),
               Candidate("future", NOW + timedelta(hours=1), "Completed"), *nightly(2)]
    decisions = plan(history, RetentionPolicy(floor_completed=0), NOW)
    assert [d.name for d in decisions][-2:] == ["incomplete", "odd"]  # unknown start times last
    assert kept(decisions) == {"incomplete", "odd", "future"}


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        plan([Candidate("x", datetime(2026, 1, 1), "Completed")], RetentionPolicy(), NOW)
    with pytest.raises(ValueError, match="aware"):
        plan([], RetentionPolicy(), datetime(2026, 1, 1))


@pytest.mark.parametrize("policy", [{"daily": -1}, {"keep_last": 1.5}, {"floor_completed": -2},
                                    {"time_zone": "Nowhere/Land"}])
def test_bad_policies_are_usage_errors(policy):
    with pytest.raises(UsageError):
        RetentionPolicy(**policy)


# -- a reference model, written per backup from the definitions ----------------------------------

PERIODS = {"hourly": "%Y-%m-%d %H", "daily": "%Y-%m-%d", "weekly": "%G-%V", "monthly": "%Y-%m", "yearly": "%Y"}


def reference_keep(history: list[Candidate], policy: RetentionPolicy) -> set[str]:
    """What must be kept, decided backup by backup (no single pass over buckets)."""
    zone = ZoneInfo(policy.time_zone)
    good = [c for c in history if c.phase == "Completed"]
    newest_good = max((c.started for c in good), default=None)
    recent_partial = [c for c in history if c.phase == "PartiallyFailed"
                      and (newest_good is None or c.started > newest_good)]
    finished = [c for c in history if c.phase in ("Completed", "PartiallyFailed", "Failed")]
    keep = {c.name for c in history if c.phase not in ("Completed", "PartiallyFailed", "Failed")}

    def newer(a: Candidate, b: Candidate) -> bool:
        return (a.started, b.name) > (b.started, a.name)

    def rank(c: Candidate, group: list[Candidate]) -> int:
        return sum(newer(o, c) for o in group)

    def in_bucket(c: Candidate, group: list[Candidate], fmt: str, count: int) -> bool:
        period = c.started.astimezone(zone).strftime(fmt)
        same = [o for o in group if o.started.astimezone(zone).strftime(fmt) == period]
        if any(newer(o, c) for o in same):
            return False
        newer_periods = {o.started.astimezone(zone).strftime(fmt) for o in group if newer(o, c)}
        return len(newer_periods - {period}) < count

    for group, floor in ((good, policy.floor_completed), (recent_partial, 0)):
        for c in group:
            if rank(c, group) < max(floor, policy.keep_last) or any(
                    in_bucket(c, group, fmt, getattr(policy, name)) for name, fmt in PERIODS.items()):
                keep.add(c.name)
    if finished:
        newest = max(finished, key=lambda c: (c.started, [-ord(ch) for ch in c.name]))
        if newest.phase == "Failed":
            keep.add(newest.name)
    return keep


PHASES = st.sampled_from(["Completed"] * 6 + ["PartiallyFailed", "Failed", "InProgress", "Incomplete"])
POLICIES = st.builds(RetentionPolicy, keep_last=st.integers(0, 4), hourly=st.integers(0, 6), daily=st.integers(0, 8),
                     weekly=st.integers(0, 5), monthly=st.integers(0, 13), yearly=st.integers(0, 3),
                     floor_completed=st.integers(0, 4),
                     time_zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]))


@st.composite
def histories(draw, phases=PHASES) -> list[Candidate]:
    """Up to 60 backups over three years, some in bursts (several an hour, several a day)."""
    minutes = draw(st.lists(st.one_of(st.integers(0, 3 * 365 * 24 * 60), st.integers(0, 3 * 24 * 60)),
                            max_size=60, unique=True))
    return [Candidate(f"b{i:02d}", NOW - timedelta(minutes=m), draw(phases)) for i, m in enumerate(minutes)]


@settings(max_examples=400, deadline=None)
@given(histories(), POLICIES)
def test_keeps_exactly_the_reference_set(history, policy):
    assert kept(plan(history, policy, NOW)) == reference_keep(history, policy)


@settings(max_examples=300, deadline=None)
@given(histories(), POLICIES)
def test_the_floor_is_never_deleted(history, policy):
    good = sorted((c for c in history if c.phase == "Completed"), key=lambda c: c.started, reverse=True)
    floor = {c.name for c in good[:policy.floor_completed]}
    assert floor <= kept(plan(history, policy, NOW))


@settings(max_examples=300, deadline=None)
@given(histories(), POLICIES)
def test_planning_again_over_the_kept_set_deletes_nothing(history, policy):
    survivors = kept(plan(history, policy, NOW))
    again = plan([c for c in history if c.name in survivors], policy, NOW)
    assert all(d.keep for d in again)


@settings(max_examples=300, deadline=None)
@given(histories(), POLICIES)
def test_every_decision_has_a_reason_and_each_candidate_one_decision(history, policy):
    decisions = plan(history, policy, NOW)
    assert sorted(d.name for d in decisions) == sorted(c.name for c in history)
    assert all(d.reasons for d in decisions)


# Small counts, often none at all: the floor alone must hold.
SPARSE = st.integers(0, 2).map(lambda n: max(n - 1, 0))
SPARSE_POLICIES = st.builds(RetentionPolicy, keep_last=SPARSE, hourly=SPARSE, daily=SPARSE, weekly=SPARSE,
                            monthly=SPARSE, yearly=SPARSE, floor_completed=st.integers(1, 3))


@settings(max_examples=200, deadline=None)
@given(histories(st.just("Completed")), st.lists(st.sampled_from(["Failed", "PartiallyFailed"]), min_size=1,
                                                 max_size=40), st.one_of(SPARSE_POLICIES, POLICIES.filter(
                                                     lambda p: p.floor_completed >= 1)))
def test_a_run_of_failures_never_expires_the_last_good_backup(good, failures, policy):
    """Failures night after night, planned every night: the last good backup survives them all."""
    if not good:
        return
    last_good = max(good, key=lambda c: c.started)
    history = [c for c in good if c.started <= last_good.started]
    for night, phase in enumerate(failures, start=1):
        now = last_good.started + timedelta(days=night)
        history.append(Candidate(f"fail{night:02d}", now - timedelta(minutes=5), phase))
        history = [c for c in history if c.name in kept(plan(history, policy, now))]
        assert last_good in history
