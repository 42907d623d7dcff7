"""Comparing what a scenario expects with what a target answers.

Money (a money field, or any value the target writes as ``"5.00"``) compares as CNY to the fen (``5`` equals
``"5.00"``), data to the KB (3 decimals of a MB), times as instants
(``2027-02-01T00:00:00+08:00`` equals ``2027-01-31T16:00:00Z``), reasons as sets. A mapping matches when every
field it names matches (fields it does not name are not looked at); a list of patterns matches when the items
appear in that order, others allowed between them. ``{matches: REGEX}`` matches a value whose text fully matches
the regular expression (``iccid: {matches: "^8986\\d{15,16}$"}``).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

MONEY_TEXT = re.compile(r"-?\d+\.\d{2}")  # how every target writes money: CNY with two decimals
MONEY_FIELDS = frozenset({"balance", "amount", "price", "payment_amount"})
SET_FIELDS = frozenset({"reasons"})
TIME_SUFFIXES = ("_at", "_until", "_end", "_start", "_deadline", "time", "due")

Resolve = Callable[[str], datetime]


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def is_time_field(name: str) -> bool:
    return name in ("at", "until") or name.endswith(TIME_SUFFIXES)


def is_regex(expected: Any) -> bool:
    return isinstance(expected, dict) and set(expected) == {"matches"}


def same(name: str, expected: Any, found: Any, resolve_time: Resolve) -> bool:
    """One field's value against the expectation, by what the field holds."""
    if is_regex(expected):
        return found is not None and re.fullmatch(str(expected["matches"]), str(found)) is not None
    if isinstance(expected, dict):
        return isinstance(found, dict) and not mismatches(expected, found, resolve_time)
    if name in SET_FIELDS and isinstance(expected, list):
        return isinstance(found, list) and sorted(map(str, expected)) == sorted(map(str, found))
    if expected is None or found is None:
        return expected is None and found is None
    if name in MONEY_FIELDS or (isinstance(found, str) and MONEY_TEXT.fullmatch(found)):
        return money(expected) is not None and money(expected) == money(found)
    if is_time_field(name) and isinstance(expected, str) and isinstance(found, str):
        try:
            return resolve_time(expected) == datetime.fromisoformat(found)
        except ValueError:
            return False
    if isinstance(expected, bool) or isinstance(found, bool):
        return expected is found
    if isinstance(expected, (int, float)) and isinstance(found, (int, float)):
        return abs(expected - found) < 0.0005
    if isinstance(expected, list) and isinstance(found, list):
        return len(expected) == len(found) and all(same(name, e, f, resolve_time) for e, f in zip(expected, found))
    return str(expected) == str(found)


def mismatches(expected: dict[str, Any], found: dict[str, Any], resolve_time: Resolve,
               prefix: str = "") -> list[str]:
    """``field: expected X, found Y`` for every field that does not match."""
    out = []
    for key, want in expected.items():
        got = found.get(key) if isinstance(found, dict) else None
        if isinstance(want, dict) and isinstance(got, dict) and not is_regex(want):
            out.extend(mismatches(want, got, resolve_time, f"{prefix}{key}."))
        elif not same(key, want, got, resolve_time):
            out.append(f"{prefix}{key}: expected {show(want)}, found {show(got)}")
    return out


def matches(pattern: dict[str, Any], item: dict[str, Any], resolve_time: Resolve) -> bool:
    return not mismatches(pattern, item, resolve_time)


def subsequence(patterns: list[dict[str, Any]], items: list[dict[str, Any]], resolve_time: Resolve) -> int | None:
    """The index of the first pattern with no matching item after the previous match, or None if all match."""
    pos = 0
    for i, pattern in enumerate(patterns):
        while pos < len(items) and not matches(pattern, items[pos], resolve_time):
            pos += 1
        if pos == len(items):
            return i
        pos += 1
    return None


def count_range(value: Any) -> tuple[int, int | None]:
    """``count: 3`` → (3, 3); ``{min: 1, max: 2}`` → (1, 2); ``{min: 1}`` → (1, None). Raises ValueError."""
    if isinstance(value, dict):
        low, high = int(value.get("min", 0)), (int(value["max"]) if value.get("max") is not None else None)
    else:
        low = high = int(value)
    if low < 0 or (high is not None and high < low):
        raise ValueError(f"count {show(value)} is not a range: min must be at most max, neither below 0")
    return low, high


def count_words(low: int, high: int | None) -> str:
    if high == low:
        return f"exactly {low}"
    if high is None:
        return f"at least {low}"
    return f"at most {high}" if low == 0 else f"{low} to {high}"


def split_counted(patterns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the ordered patterns, the counted ones): a pattern with ``count`` is judged by how many items match it."""
    ordered = [p for p in patterns if not (isinstance(p, dict) and "count" in p)]
    return ordered, [p for p in patterns if isinstance(p, dict) and "count" in p]


def count_problems(counted: list[dict[str, Any]], items: list[dict[str, Any]], resolve_time: Resolve,
                   noun: str, line: Callable[[dict[str, Any]], str]) -> list[str]:
    """``exactly 3 ledger entries like {item: retention_fee}; found 2: …`` for every counted pattern that fails."""
    out = []
    for pattern in counted:
        want = {k: v for k, v in pattern.items() if k != "count"}
        low, high = count_range(pattern["count"])
        hits = [i for i in items if matches(want, i, resolve_time)]
        if len(hits) < low or (high is not None and len(hits) > high):
            shown = "; ".join(line(h) for h in hits[:6]) + ("; …" if len(hits) > 6 else "")
            out.append(f"{count_words(low, high)} {noun} like {show(want)}; found {len(hits)}"
                       + (f": {shown}" if hits else ""))
    return out


def show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def local_time(value: Any, tz: str | None) -> str:
    """An ISO time shown in the carrier's zone (a target may answer in UTC); anything else as it is."""
    if not tz or not isinstance(value, str):
        return "?" if value is None else str(value)
    try:
        from zoneinfo import ZoneInfo
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).isoformat()
    except (ValueError, KeyError):
        return value


def ledger_line(row: dict[str, Any]) -> str:
    return f"{row.get('time', '?')}  {row.get('kind')} {row.get('item') or ''} {row.get('amount')}"


def event_line(ev: dict[str, Any], tz: str | None = None) -> str:
    """An event as one readable line of a card's history (its time in the carrier's zone ``tz`` when given)."""
    text = f"{local_time(ev.get('time', '?'), tz)}  {ev.get('kind', '?')}"
    if ev.get("kind") == "state_changed":
        text += f"  {ev.get('old_state')} -> {ev.get('new_state')}"
        if ev.get("reasons"):
            text += f" [{', '.join(ev['reasons'])}]"
    if "amount" in ev:
        text += f"  {ev['amount']}"
    text += f"  ({ev.get('cause', '?')})"
    detail = ev.get("detail")
    if detail:
        text += "  " + ", ".join(f"{k}={v}" for k, v in list(detail.items())[:4])
    return text
