"""Instants, durations and calendars for the virtual clock.

The engine keeps every instant as an integer count of seconds since the Unix epoch (compact, fast to compare for
a million cards) and converts to aware datetimes only at its edges. Calendar arithmetic ("one month later", "the
next cycle start", "three working days later") is done in a carrier's local time zone, because carriers bill by
their local calendar (RULES.md: time is carrier-local).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import isodate
from dateutil.relativedelta import relativedelta

from .calendars import published_year
from .errors import bad_input

Instant = int  # seconds since the Unix epoch, UTC


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_datetime(ts: Instant, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, tz)


@lru_cache(maxsize=1 << 16)
def to_iso(ts: Instant, tz: tzinfo) -> str:
    """ISO-8601 text of an instant; cached, because views render the same few instants (cycle starts, term
    ends) for every card and the conversion through the zone database is the slow part of a card view."""
    return to_datetime(ts, tz).isoformat()


def local_instant(year: int, month: int, day: int, tz: tzinfo, hour: int = 0) -> Instant:
    return int(datetime(year, month, day, hour, tzinfo=tz).timestamp())


def parse_instant(value: object, tz: tzinfo) -> Instant:
    """An instant from an aware/naive datetime, a date, an ISO-8601 string or an epoch int (naive means ``tz``)."""
    if isinstance(value, bool):
        raise bad_input(f"A time was expected, got {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: datetime | date = isodate.parse_datetime(text) if "T" in text else isodate.parse_date(text)
        except (ValueError, isodate.ISO8601Error):
            raise bad_input(
                f"{value!r} is not an ISO-8601 time; write it like 2027-03-01T00:00:00+08:00 or 2027-03-01."
            ) from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=tz).timestamp())
    raise bad_input(f"A time was expected, got {type(value).__name__} {value!r}.")


_UNITS = {
    "s": "seconds", "sec": "seconds", "second": "seconds", "seconds": "seconds",
    "m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}
_PART = re.compile(r"\s*(\d+)\s*([a-z]+)\s*,?", re.IGNORECASE)


def parse_duration(value: object) -> relativedelta:
    """A forward duration from ``timedelta``, ``relativedelta``, ``"3 days"``, ``"1 month 2 days"``, ``"+1 day"``
    or ISO-8601 (``P1M``, ``PT12H``). Months are calendar months: 31 Jan + 1 month is 28/29 Feb."""
    if isinstance(value, relativedelta):
        delta = value
    elif isinstance(value, timedelta):
        delta = relativedelta(seconds=int(value.total_seconds()))
    elif isinstance(value, str) and value.strip():
        text = value.strip().lstrip("+").strip()
        if text[:1] in ("P", "p"):
            try:
                iso = isodate.parse_duration(text.upper())
            except (ValueError, isodate.ISO8601Error):
                raise bad_input(f"{value!r} is not an ISO-8601 duration (try P1M, P3D or PT12H).") from None
            if isinstance(iso, timedelta):
                delta = relativedelta(seconds=int(iso.total_seconds()))
            else:
                delta = relativedelta(years=int(iso.years), months=int(iso.months),
                                      seconds=int(iso.tdelta.total_seconds()))
        else:
            kwargs: dict[str, int] = {}
            pos = 0
            for m in _PART.finditer(text):
                if m.start() != pos:
                    break
                unit = _UNITS.get(m.group(2).lower())
                if unit is None:
                    raise bad_input(f"{value!r}: unknown unit {m.group(2)!r}; use seconds, minutes, hours, days, "
                                    "weeks, months or years.")
                kwargs[unit] = kwargs.get(unit, 0) + int(m.group(1))
                pos = m.end()
            if pos != len(text) or not kwargs:
                raise bad_input(f"{value!r} is not a duration; write it like '3 days', '1 month', '2 hours' or P1M.")
            delta = relativedelta(**kwargs)  # type: ignore[arg-type]  # the stub's first positional is a date
    else:
        raise bad_input(f"A duration was expected, got {value!r}.")
    probe = datetime(2000, 1, 1) + delta
    if probe < datetime(2000, 1, 1):
        raise bad_input(f"{value!r} is negative; the clock only moves forward.")
    return delta


def add_duration(ts: Instant, delta: relativedelta, tz: tzinfo) -> Instant:
    """``ts`` plus ``delta`` on the local wall clock of ``tz`` (so '1 month' keeps the local time of day)."""
    return int((to_datetime(ts, tz) + delta).timestamp())


@lru_cache(maxsize=1 << 16)
def months_after(ts: Instant, months: int, tz: tzinfo) -> Instant:
    """``ts`` plus ``months`` calendar months on the local wall clock of ``tz``. Cached: the deadlines of a cohort
    (retention limits, unused-card checks) start at the same few instants — a cycle start, a batch of usage — so
    the calendar maths is done once per (instant, months, zone), not once per card."""
    return add_duration(ts, relativedelta(months=months), tz)


@lru_cache(maxsize=1 << 16)
def days_after(ts: Instant, days: int, tz: tzinfo) -> Instant:
    """``ts`` plus ``days`` calendar days at the same local time of day (not days * 86400 s: a DST change in the
    zone would move it by an hour). Cached like ``months_after``."""
    return add_duration(ts, relativedelta(days=days), tz)


def cycle_start_on_or_before(ts: Instant, tz: tzinfo, cycle_day: int) -> Instant:
    """The start (local midnight of ``cycle_day``) of the billing cycle containing ``ts``."""
    local = to_datetime(ts, tz)
    start = datetime(local.year, local.month, cycle_day, tzinfo=tz)
    if start > local:
        start = (start - relativedelta(months=1)).replace(day=cycle_day)
    return int(start.timestamp())


@lru_cache(maxsize=1 << 12)
def add_cycles(cycle_start: Instant, n: int, tz: tzinfo, cycle_day: int) -> Instant:
    """The cycle start ``n`` cycles after the cycle start ``cycle_start``."""
    local = to_datetime(cycle_start, tz)
    moved = datetime(local.year, local.month, cycle_day, tzinfo=tz) + relativedelta(months=n)
    return int(moved.replace(day=cycle_day).timestamp())


_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of a carrier: Monday–Friday unless the profile says otherwise, minus holidays, plus the
    weekend days declared working (China's 调休 make-up days). ``published`` names a public-holiday calendar read a
    year at a time (``"cn"``: simulator/calendars.py), which refuses a year it does not know rather than guess it;
    a name, not a function, so that a snapshot of the world holds data only."""

    weekend: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[date] = field(default_factory=frozenset)
    working_weekends: frozenset[date] = field(default_factory=frozenset)
    published: str | None = None

    @classmethod
    def from_names(cls, weekend: list[str], holidays: list[date], working: list[date],
                   published: str | None = None) -> "WorkCalendar":
        return cls(frozenset(_WEEKDAYS[d[:3].lower()] for d in weekend), frozenset(holidays), frozenset(working),
                   published)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        if self.published is not None:
            off, working = published_year(self.published, day.year)
            if day in working:
                return True
            if day in off:
                return False
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, ts: Instant, n: int, tz: tzinfo) -> Instant:
        """The same local time of day on the ``n``-th working day after the day of ``ts``."""
        local = to_datetime(ts, tz)
        day = local.date()
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return int(datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz).timestamp())


UTC = timezone.utc
