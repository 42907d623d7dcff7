"""The event log: every effect of the engine is one event (LIFE-4), money included (the ledger is a view of it).

Stored column-wise in ``array`` buffers (about 30 bytes an event) instead of one Python object per event, because a
year of a million cards is tens of millions of events. Events are numbered from 0 in the order they happened; that
number is the cursor of the events feed. The one common fact of an event (a charge's item, a renewal's plan) is an
interned string in the ``tag`` column; rare extra facts (thresholds, messages) sit in a sparse dict.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Iterable, Iterator


class Kind(IntEnum):
    STATE_CHANGED = 0  # LIFE-4: old state, new state, the reason added/removed, the cause
    PAYMENT = 1  # money in (top-up)
    CHARGE = 2  # money out to the carrier (plan, add-on, overage, retention fee)
    REFUND = 3  # a fee given back, credited to the balance (REF-1 unused months)
    TRANSFER_IN = 4  # SWAP-1: balance moved from the old card
    TRANSFER_OUT = 5
    ALERT = 6  # ALERT-1
    PLAN_CHANGE_REQUESTED = 7  # PLAN-1/2
    PLAN_CHANGE_WITHDRAWN = 8
    PLAN_CHANGE_APPLIED = 9
    PLAN_CHANGE_FAILED = 10
    RENEWED = 11
    CARD_OPENED = 12
    DEVICE_BOUND = 13  # BIND-1
    IDENTITY_VERIFIED = 14  # KYC-1
    USAGE_REFUSED = 15  # QUOTA-1, REG-1, BIND-1: traffic the network did not carry
    CANCELLATION_REQUESTED = 16  # CAN-2
    CANCELLATION_REJECTED = 17  # CAN-3
    CERTIFICATE_ISSUED = 18  # CAN-4
    DATA_WIPED = 19  # CAN-4
    CARD_REPLACED = 20  # SWAP-1
    AUTO_RENEW_SET = 21
    POOL_JOINED = 22
    EXPIRED = 23  # EXP-1 (the state change is its own event too)
    PAYOUT = 24  # money paid out of the balance to the customer (REF-1 wrong top-up, CAN-4 balance refund)

    @property
    def label(self) -> str:
        return self.name.lower()


# The name under which an event's tag reads back in its detail.
TAG_FIELD = {Kind.PAYMENT: "item", Kind.CHARGE: "item", Kind.REFUND: "item", Kind.TRANSFER_IN: "item",
             Kind.TRANSFER_OUT: "item", Kind.PAYOUT: "item", Kind.RENEWED: "plan", Kind.EXPIRED: "plan"}
MONEY_KINDS = frozenset({Kind.PAYMENT, Kind.CHARGE, Kind.REFUND, Kind.TRANSFER_IN, Kind.TRANSFER_OUT, Kind.PAYOUT})
CHANGE_NONE, CHANGE_ADDED, CHANGE_REMOVED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as read back. ``card`` is the card's index in the simulation (-1: not about one card)."""

    seq: int
    time: int
    card: int
    kind: Kind
    old_state: int
    new_state: int
    reasons: int
    change: int
    cause: int
    amount: int
    detail: dict[str, Any] | None


class EventLog:
    """Append-only, column-wise event storage."""

    def __init__(self) -> None:
        self.time = array("q")
        self.card = array("i")
        self.kind = array("B")
        self.old = array("B")
        self.new = array("B")
        self.reasons = array("H")
        self.change = array("B")
        self.cause = array("B")
        self.amount = array("q")
        self.tag = array("H")  # index into ``tags``; 0 = none
        self.tags: list[str] = [""]
        self._tag_ids: dict[str, int] = {"": 0}
        self.detail: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.time)

    def append(self, time: int, card: int, kind: int, cause: int, *, old: int = 0, new: int = 0,
               reasons: int = 0, change: int = CHANGE_NONE, amount: int = 0, tag: str = "",
               detail: dict[str, Any] | None = None) -> int:
        seq = len(self.time)
        self.time.append(time)
        self.card.append(card)
        self.kind.append(kind)
        self.old.append(old)
        self.new.append(new)
        self.reasons.append(reasons)
        self.change.append(change)
        self.cause.append(cause)
        self.amount.append(amount)
        tag_id = self._tag_ids.get(tag)
        if tag_id is None:
            tag_id = self._tag_ids[tag] = len(self.tags)
            self.tags.append(tag)
        self.tag.append(tag_id)
        if detail:
            self.detail[seq] = detail
        return seq

    def get(self, seq: int) -> EventRecord:
        kind = Kind(self.kind[seq])
        detail = self.detail.get(seq)
        tag = self.tags[self.tag[seq]]
        if tag:
            detail = {TAG_FIELD.get(kind, "tag"): tag, **(detail or {})}
        return EventRecord(seq, self.time[seq], self.card[seq], kind, self.old[seq], self.new[seq],
                           self.reasons[seq], self.change[seq], self.cause[seq], self.amount[seq], detail)

    def read(self, seqs: Iterable[int]) -> Iterator[EventRecord]:
        for seq in seqs:
            yield self.get(seq)

    def since(self, cursor: int, limit: int | None = None) -> Iterator[EventRecord]:
        end = len(self) if limit is None else min(len(self), cursor + limit)
        return self.read(range(max(cursor, 0), end))

    def nbytes(self) -> int:
        cols = (self.time, self.card, self.kind, self.old, self.new, self.reasons, self.change, self.cause,
                self.amount, self.tag)
        return sum(c.itemsize * len(c) for c in cols)
