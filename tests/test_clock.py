"""The virtual clock and scheduler (DESIGN: frozen by default, advance runs due jobs in time order, never backwards,
cohort work is one job)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import view, history_of

from carriersim.simulator import SimError, Simulation
from carriersim.simulator.clock import JobKind, Scheduler
from carriersim.simulator.timeutil import WorkCalendar, add_cycles, parse_duration, parse_instant

SH = ZoneInfo("Asia/Shanghai")


def test_clock_is_frozen_until_advanced(sim):
    before = sim.now
    sim.card  # reading anything does not move time
    assert sim.now == before
    assert sim.iso(sim.now) == "2027-01-01T00:00:00+08:00"


@pytest.mark.parametrize("by, expected", [
    ("3 days", "2027-01-04T00:00:00+08:00"),
    ("1 month", "2027-02-01T00:00:00+08:00"),
    ("P1M", "2027-02-01T00:00:00+08:00"),
    ("PT12H", "2027-01-01T12:00:00+08:00"),
    ("+1 day", "2027-01-02T00:00:00+08:00"),
    ("1 month 2 days", "2027-02-03T00:00:00+08:00"),
    (timedelta(hours=5), "2027-01-01T05:00:00+08:00"),
])
def test_advance_by_durations(sim, by, expected):
    sim.advance(by=by)
    assert sim.iso(sim.now) == expected


def test_month_arithmetic_clamps_to_month_end():
    sim = Simulation(start="2027-01-31T10:00:00+08:00")
    sim.advance(by="1 month")
    assert sim.iso(sim.now) == "2027-02-28T10:00:00+08:00"


def test_advance_to_a_time_and_refuse_backwards(sim):
    sim.advance(to="2027-03-01T08:30:00+08:00")
    assert sim.iso(sim.now) == "2027-03-01T08:30:00+08:00"
    digest = sim.digest()
    with pytest.raises(SimError) as err:
        sim.advance(to="2027-02-01")
    assert err.value.code == "clock_backwards"
    assert "2027-03-01T08:30:00+08:00" in err.value.message
    assert sim.digest() == digest


def test_clock_backwards_in_the_engine_says_to_start_a_new_world_not_to_restore_a_snapshot(sim):
    """The engine keeps no snapshots (only serve --db does): its advice is a new Simulation."""
    sim.advance(by="1 day")
    with pytest.raises(SimError) as err:
        sim.advance(to="2027-01-01T12:00:00+08:00")
    assert err.value.message == ("The clock never moves backwards: it is 2027-01-02T00:00:00+08:00 and "
                                 "2027-01-01T12:00:00+08:00 is earlier. To work at an earlier time, start a new "
                                 "Simulation(start=...) and replay the steps; the engine keeps no snapshots.")
    assert "restore" not in err.value.message.lower()


@pytest.mark.parametrize("bad", ["three days", "5 fortnights", "P1Q", "-1 day", "", "2027-13-01"])
def test_bad_durations_are_refused_with_a_hint(sim, bad):
    with pytest.raises(SimError) as err:
        sim.advance(by=bad)
    assert err.value.code == "invalid_input"
    assert err.value.status == 422


def test_advance_needs_exactly_one_of_to_and_by(sim):
    for kwargs in ({}, {"to": "2027-02-01", "by": "1 day"}):
        with pytest.raises(SimError) as err:
            sim.advance(**kwargs)
        assert err.value.code == "invalid_input"


def test_cycle_start_is_one_job_per_carrier_not_per_card(sim, acct):
    for _ in range(30):
        sim.open_card(acct, "cmcc", "CMCC-M30")
    result = sim.advance(by="1 month")
    # the three carriers' cycle starts fall at the same instant and share one job; thirty cards add none
    assert result.jobs == 1


def test_advance_runs_jobs_in_time_order_and_settles(sim, acct):
    from conftest import open_active
    iccid = open_active(sim, acct, "cmcc", "CMCC-M30", auto_renew=False)
    result = sim.advance(by="6 months")  # expiry at Feb 1, retention until May 1, cancelled then
    card = view(sim, iccid)
    assert card["state"] == "cancelled"
    times = [e["time"] for e in history_of(sim, iccid)]
    assert times == sorted(times)
    assert result.to.isoformat() == "2027-07-01T00:00:00+08:00"


def test_scheduler_buckets_same_time_same_kind():
    s = Scheduler()
    for i in range(1000):
        s.at(100, JobKind.KYC_DEADLINE, i)
    s.at(100, JobKind.CYCLE_START, "cmcc")
    s.at(50, JobKind.REVIEW_DONE, "x")
    assert len(s) == 3
    first = s.pop_due(1000)
    assert (first.when, first.kind) == (50, JobKind.REVIEW_DONE)
    second = s.pop_due(1000)
    assert second.kind == JobKind.CYCLE_START  # same instant: cycle start runs before KYC deadlines
    third = s.pop_due(1000)
    assert len(third.targets) == 1000
    assert s.pop_due(1000) is None


def test_same_instant_order_puts_retention_limit_before_cycle_start():
    assert JobKind.MAINTENANCE_END < JobKind.RETENTION_LIMIT < JobKind.CYCLE_START < JobKind.KYC_DEADLINE


def test_cycle_boundaries_for_a_mid_month_cycle_day():
    start = int(datetime(2027, 1, 15, tzinfo=SH).timestamp())
    assert datetime.fromtimestamp(add_cycles(start, 1, SH, 15), SH) == datetime(2027, 2, 15, tzinfo=SH)
    assert datetime.fromtimestamp(add_cycles(start, 12, SH, 15), SH) == datetime(2028, 1, 15, tzinfo=SH)


def test_parse_instant_accepts_naive_as_local_and_dates():
    assert parse_instant("2027-01-01T00:00:00", SH) == parse_instant("2027-01-01T00:00:00+08:00", SH)
    assert parse_instant("2027-01-01", SH) == int(datetime(2027, 1, 1, tzinfo=SH).timestamp())
    assert parse_duration("2 weeks").days == 14


def test_working_day_calendar_skips_weekends_holidays_and_counts_makeup_days():
    from datetime import date
    cal = WorkCalendar.from_names(["sat", "sun"], [date(2027, 1, 4)], [date(2027, 1, 9)])
    fri = int(datetime(2027, 1, 1, 9, tzinfo=SH).timestamp())
    due = datetime.fromtimestamp(cal.add_working_days(fri, 2, SH), SH)
    # Sat 2 and Sun 3 are weekend, Mon 4 a holiday; Tue 5 is day 1, Wed 6 day 2
    assert due == datetime(2027, 1, 6, 9, tzinfo=SH)
    due = datetime.fromtimestamp(cal.add_working_days(int(datetime(2027, 1, 8, 9, tzinfo=SH).timestamp()), 1, SH), SH)
    assert due == datetime(2027, 1, 9, 9, tzinfo=SH)  # Saturday 9 is a make-up working day
