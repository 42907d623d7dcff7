"""Time expressions: where ``advance`` goes and what time an expectation names.

Grammar (spaces optional)::

    expression := [base] offset*
    base       := ISO-8601 time | point
    offset     := ("+" | "-") duration          # '3 days', '1 month', '2 hours', P1M, PT12H
    point      := now | next_cycle | end_of_month | expiry | retention_limit | real_name_deadline
                | review_due | pending_change

With no base, the expression is relative to now (``3 days``, ``+1 day``). Months are calendar months on the
carrier's local clock: 31 Jan + 1 month is 28/29 Feb. A time without an offset is carrier-local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from carriersim.simulator.errors import SimError
from carriersim.simulator.timeutil import parse_duration

#: Named points: what they mean (and, for card points, which field of the card they read).
POINTS: dict[str, str] = {
    "now": "the current simulated time",
    "next_cycle": "the start of the next billing cycle (the profile's cycle day, 00:00 local)",
    "end_of_month": "23:59:59 on the last day of the current month",
    "expiry": "the card's term end (term_end)",
    "retention_limit": "the day the card's number retention ends (retention_until)",
    "real_name_deadline": "the end of the card's real-name grace period (real_name_deadline)",
    "review_due": "when the card's cancellation review is due (cancellation.due)",
    "pending_change": "when the card's pending plan change takes effect (pending_change.effective_at)",
}
CARD_POINTS: dict[str, tuple[str, ...]] = {
    "expiry": ("term_end",), "retention_limit": ("retention_until",),
    "real_name_deadline": ("real_name_deadline",), "review_due": ("cancellation", "due"),
    "pending_change": ("pending_change", "effective_at"),
}

_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_OFFSET = re.compile(r"\s*([+-])\s*([^+-]+)")


class TimeExprError(ValueError):
    pass


@dataclass(frozen=True)
class TimeExpr:
    base: str | None  # None: now
    offsets: tuple[tuple[int, relativedelta], ...]
    text: str

    @property
    def card_point(self) -> bool:
        return self.base in CARD_POINTS


def parse(text: Any) -> TimeExpr:
    """Parse a time expression, raising ``TimeExprError`` with a sentence that says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise TimeExprError(f"a time or duration was expected, got {text!r}")
    source = text.strip()
    base: str | None = None
    rest = source
    head = re.match(rf"^\s*(?P<base>{_ISO})\s*", source)
    if head:
        base, rest = head.group("base"), source[head.end():]
    else:
        word = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?=$|[+-])", source)
        if word:
            base, rest = word.group(1), source[word.end():]
            if base not in POINTS:
                from .suggest import nearest
                raise TimeExprError(f"{base!r} is not a named point in time{nearest(base, POINTS)}; the points "
                                    f"are {', '.join(POINTS)}")
    offsets: list[tuple[int, relativedelta]] = []
    if base is None:  # a bare duration: from now
        offsets.append((1, _duration(rest.lstrip("+").strip(), source)))
        return TimeExpr(None, tuple(offsets), source)
    pos = 0
    for m in _OFFSET.finditer(rest):
        if m.start() != pos:
            break
        offsets.append((1 if m.group(1) == "+" else -1, _duration(m.group(2).strip(), source)))
        pos = m.end()
    if rest[pos:].strip():
        raise TimeExprError(f"{source!r}: cannot read {rest[pos:].strip()!r}; write a time or point followed by "
                            "offsets, like 'expiry + 1 day' or 'next_cycle - 1 second'")
    if base not in POINTS:
        _iso(base, ZoneInfo("UTC"))  # checks the date exists (2027-02-30 does not)
    return TimeExpr(base, tuple(offsets), source)


def _duration(text: str, source: str) -> relativedelta:
    try:
        return parse_duration(text)
    except SimError as exc:
        raise TimeExprError(exc.message) from None


def _iso(text: str, tz: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeExprError(f"{text!r} is not a valid time; write it like 2027-01-31T23:59:59") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def next_cycle(now: datetime, cycle_day: int) -> datetime:
    """The first cycle start strictly after ``now`` (local midnight on the cycle day, or the month's last day)."""
    def start(year: int, month: int) -> datetime:
        return now.replace(year=year, month=month, day=min(cycle_day, _days_in(year, month)), hour=0, minute=0,
                           second=0, microsecond=0)
    candidate = start(now.year, now.month)
    if candidate <= now:
        following = now.replace(day=1) + relativedelta(months=1)
        candidate = start(following.year, following.month)
    return candidate


def end_of_month(now: datetime) -> datetime:
    first_next = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + relativedelta(months=1)
    return (first_next - timedelta(seconds=1)).replace(tzinfo=now.tzinfo)


def _days_in(year: int, month: int) -> int:
    return ((datetime(year, month, 1) + relativedelta(months=1)) - datetime(year, month, 1)).days


def resolve(expr: TimeExpr, *, now: str, tz: str, cycle_day: int,
            card_field: Callable[[tuple[str, ...]], Any] | None = None) -> datetime:
    """The local time an expression names. ``card_field`` reads a field of the card the expression is about
    (for ``expiry``, ``retention_limit`` …); such a point that the card does not have is an error."""
    zone = ZoneInfo(tz)
    current = datetime.fromisoformat(now).astimezone(zone)
    base = expr.base
    if base is None or base == "now":
        value = current
    elif base == "next_cycle":
        value = next_cycle(current, cycle_day)
    elif base == "end_of_month":
        value = end_of_month(current)
    elif base in CARD_POINTS:
        if card_field is None:
            raise TimeExprError(f"{base!r} is a point of a card; name the card")
        raw = card_field(CARD_POINTS[base])
        if not raw:
            raise TimeExprError(f"the card has no {base.replace('_', ' ')} ({'.'.join(CARD_POINTS[base])} is "
                                "empty)")
        value = datetime.fromisoformat(raw).astimezone(zone)
    else:
        value = _iso(base, zone).astimezone(zone)
    for sign, delta in expr.offsets:
        naive = value.replace(tzinfo=None)
        naive = naive + delta if sign > 0 else naive - delta
        value = naive.replace(tzinfo=zone)  # wall-clock arithmetic in the carrier's zone
    return value
