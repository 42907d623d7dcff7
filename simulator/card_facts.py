"""Facts about cards that some carrier APIs show and the engine does not keep: labels and usage by the hour.

Twilio's ``unique_name`` and Control Center's custom fields are *labels* (a per-card key → text map, written by
the card's owner through the ``set_label`` operation, so they are journaled and replay); Twilio's UsageRecords by
hour or day need the traffic the network carried per hour, which the engine only counts per cycle. The engine
feeds the usage counter through one call in ``Simulation.report_usage``; nothing here changes a card's state, so
the rules never depend on it. Deterministic: everything is a function of the operations applied, in order.
"""

from __future__ import annotations

import re
from typing import Iterable

from .errors import SimError, bad_input

LABEL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}\.[A-Za-z][A-Za-z0-9_]{0,63}$")  # "<dialect>.<field>"
MAX_LABEL = 256
HOUR = 3600


class CardFacts:
    """Labels per card (with an index by value, for look-ups such as Twilio's fetch by unique name) and the KB
    carried per card per hour (epoch seconds of the hour's start)."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, str]] = {}
        self.by_value: dict[tuple[str, str], list[str]] = {}
        self.hourly: dict[str, dict[int, int]] = {}

    # ------------------------------------------------------------------ usage
    def on_usage(self, iccid: str, kb: int, now: int) -> None:
        if kb > 0:
            hours = self.hourly.setdefault(iccid, {})
            hour = now - now % HOUR
            hours[hour] = hours.get(hour, 0) + kb

    def usage(self, iccid: str, start: int, end: int) -> int:
        """KB carried for the card in the hours starting in [start, end)."""
        return sum(kb for h, kb in self.hourly.get(iccid, {}).items() if start <= h < end)

    def hours(self, iccid: str) -> dict[int, int]:
        return dict(self.hourly.get(iccid, {}))

    # ------------------------------------------------------------------ labels
    def get(self, iccid: str) -> dict[str, str]:
        return dict(self.labels.get(iccid, {}))

    def find(self, key: str, value: str) -> list[str]:
        return list(self.by_value.get((key, value), ()))

    def check(self, key: str, value: str | None) -> None:
        if not isinstance(key, str) or not LABEL_KEY.match(key):
            raise bad_input(f"A label key is '<dialect>.<field>' (letters, digits, _), got {key!r}.")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_LABEL):
            raise bad_input(f"A label value is text of at most {MAX_LABEL} characters.")

    def set(self, iccid: str, key: str, value: str | None, unique_among: Iterable[str] | None = None) -> None:
        """Set (or with None remove) a label. ``unique_among``: the ICCIDs (the owner's cards) among which no
        other card may carry the same value under this key (Twilio's unique_name)."""
        self.check(key, value)
        if value is not None and unique_among is not None:
            others = set(self.by_value.get((key, value), ())) - {iccid}
            if others & set(unique_among):
                raise SimError("label_taken", f"Another card of this account already has {key} {value!r}.",
                               status=409, key=key)
        card = self.labels.setdefault(iccid, {})
        old = card.get(key)
        if old is not None:
            holders = self.by_value.get((key, old), [])
            if iccid in holders:
                holders.remove(iccid)
            if not holders:
                self.by_value.pop((key, old), None)
        if value is None:
            card.pop(key, None)
        else:
            card[key] = value
            self.by_value.setdefault((key, value), []).append(iccid)
