"""CAN-2 working days beyond the shipped calendar years (simulator/calendars.py).

The shipped Chinese calendar covers 2026-2028; a review in any other year counts working days from the holidays
package (the official notice where one was published), and a year nobody knows is refused with what to do — never
counted as if it had no holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import DOC, cancel_request, cancellable, view

from carriersim.simulator import SimError, Simulation
from carriersim.simulator import calendars
from carriersim.simulator.profile import builtin_profile

# The State Council's 2025 notice (国办发明电〔2024〕12号): the days off and the make-up working weekends.
OFFICIAL_2025_OFF = {
    "New Year": ["2025-01-01"],
    "Spring Festival": ["2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02",
                        "2025-02-03", "2025-02-04"],
    "Qingming": ["2025-04-04", "2025-04-05", "2025-04-06"],
    "Labour Day": ["2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05"],
    "Dragon Boat": ["2025-05-31", "2025-06-01", "2025-06-02"],
    "National Day and Mid-Autumn": [f"2025-10-0{d}" for d in range(1, 9)],
}
OFFICIAL_2025_WORKING = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"]


def test_can2_2025_working_days_match_the_official_calendar():
    cal = builtin_profile("cmcc").calendar
    off = {date.fromisoformat(d) for days in OFFICIAL_2025_OFF.values() for d in days}
    working = {date.fromisoformat(d) for d in OFFICIAL_2025_WORKING}
    day = date(2025, 1, 1)
    while day.year == 2025:
        expected = day in working or (day.weekday() < 5 and day not in off)
        assert cal.is_working_day(day) == expected, day
        day += timedelta(days=1)


def test_can2_review_crossing_spring_festival_2025_skips_the_break_and_counts_the_makeup_sunday():
    sim = Simulation(seed=1, start="2025-01-24T10:00:00+08:00")  # Friday before the Spring Festival break
    acct = sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number=DOC)
    iccid = cancellable(sim, acct)
    out = cancel_request(sim, acct, iccid, DOC)
    # 3 working days: Sun 26 Jan (make-up working day), Mon 27 Jan, then the break 28 Jan - 4 Feb, then Wed 5 Feb.
    # Without the calendar it would be Wed 29 Jan, in the middle of the holiday.
    assert out["due"] == "2025-02-05T10:00:00+08:00"
    sim.advance(to="2025-02-05T09:59:59+08:00")
    assert view(sim, iccid)["state"] == "pending_cancel"
    sim.advance(by="1 second")
    assert view(sim, iccid)["state"] == "cancelled"


def test_can2_review_in_2030_counts_national_day_from_the_holidays_package():
    sim = Simulation(seed=1, start="2030-09-30T10:00:00+08:00")  # Monday before National Day (Tue 1 - Thu 3 Oct)
    acct = sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number=DOC)
    iccid = cancellable(sim, acct)
    out = cancel_request(sim, acct, iccid, DOC)
    assert out["due"] == "2030-10-08T10:00:00+08:00"  # Fri 4, Mon 7, Tue 8 Oct


def test_can2_a_year_no_calendar_knows_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(calendars, "_package_range", lambda: (1950, 2029))
    calendars.cn_year.cache_clear()
    try:
        sim = Simulation(seed=1, start="2030-09-30T10:00:00+08:00")
        acct = sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number=DOC)
        iccid = cancellable(sim, acct)
        before = sim.card(iccid)
        with pytest.raises(SimError) as err:
            sim.request_cancellation(acct, iccid, DOC)
        assert err.value.code == "calendar_year_unknown" and err.value.detail["year"] == 2030
        for words in ("No Chinese public-holiday calendar is known for 2030", "2026–2028", "Add 2030 to the carrier "
                      "profile", "calendar.holidays", "calendar.working_weekends"):
            assert words in err.value.message
        assert sim.card(iccid) == before  # refused before anything changed
    finally:
        calendars.cn_year.cache_clear()


def test_can2_shipped_years_come_from_the_data_file_not_the_package(monkeypatch):
    import holidays

    monkeypatch.setattr(holidays, "China", None)  # the package is not asked for a shipped year
    calendars.cn_year.cache_clear()
    try:
        off, working = calendars.cn_year(2027)
        assert date(2027, 2, 6) in off and date(2026, 2, 14) not in working
        assert calendars.cn_year(2026)[1] >= {date(2026, 2, 14), date(2026, 2, 28)}
    finally:
        calendars.cn_year.cache_clear()
