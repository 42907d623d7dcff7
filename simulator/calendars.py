"""The Chinese public-holiday calendar, year by year, for working-day counting (CAN-2 review times).

The shipped calendar (``data/cn_calendar.yaml``) covers the years it lists under ``years``. A review can cross into
any other year (a world started in 2025, a clock moved to 2030), and counting holidays there as working days would
silently give review times a real carrier never gives. So a year the shipped file lacks comes from the ``holidays``
package (``holidays.China``: the State Council's notices, with their make-up working weekends, for the years they
were published; for later years the statutory days of the 2024 rules with their substitute days, as the shipped
file derives 2027-2028), and a year neither knows is refused with what to do, never guessed.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from .errors import SimError

Year = tuple[frozenset[date], frozenset[date]]  # (days off, make-up working weekend days)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@lru_cache(maxsize=1)
def shipped() -> dict[int, Year]:
    """The shipped years of ``data/cn_calendar.yaml``, each with its days off and make-up working days."""
    text = resources.files("carriersim.simulator.data").joinpath("cn_calendar.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    years: dict[int, tuple[set[Any], set[Any]]] = {int(y): (set(), set()) for y in data["years"]}
    for key, slot in (("holidays", 0), ("working_weekends", 1)):
        for value in data[key]:
            day = _as_date(value)
            if day.year not in years:  # a date outside the declared years would make coverage a lie
                raise ValueError(f"cn_calendar.yaml: {day} lies outside its years {sorted(years)}")
            years[day.year][slot].add(day)
    return {y: (frozenset(off), frozenset(work)) for y, (off, work) in years.items()}


def _package_range() -> tuple[int, int] | None:
    try:
        import holidays
    except ImportError:  # pragma: no cover - a declared dependency; refused with the message below if absent
        return None
    return holidays.China.start_year, holidays.China.end_year


@lru_cache(maxsize=64)
def cn_year(year: int) -> Year:
    """Days off and make-up working days of China in ``year``: the shipped file where it has the year, else the
    ``holidays`` package; a year neither covers raises ``calendar_year_unknown``."""
    table = shipped()
    if year in table:
        return table[year]
    span = _package_range()
    if span is None or not span[0] <= year <= span[1]:
        have = f"{min(table)}–{max(table)}"
        also = f", the holidays package {span[0]}–{span[1]}" if span else ""
        raise SimError("calendar_year_unknown",
                       f"No Chinese public-holiday calendar is known for {year} (the shipped calendar covers {have}"
                       f"{also}), so working days cannot be counted. Add {year} to the carrier profile: set "
                       "calendar.holidays to a list of that year's days off and calendar.working_weekends to its "
                       "make-up working days.", status=409, year=year)
    import holidays

    cn = holidays.China(years=year)
    off = frozenset(d for d in cn if d.year == year)
    work = frozenset(d for d in cn.weekend_workdays if d.year == year)  # make-up days (holidays >= 0.48)
    return off, work


PUBLISHED = {"cn": cn_year}  # the public-holiday calendars a profile can name (calendar.holidays: cn)


def published_year(name: str, year: int) -> Year:
    """Days off and make-up working days of the published calendar ``name`` in ``year``."""
    return PUBLISHED[name](year)
