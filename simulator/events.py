"""The event log: every effect of the engine is one event (LIFE-4), money included (the ledger is a view of it).

A year of a million cards is tens of millions of events, so the log is lean: no Python object per event.

- Typed columns in ``array`` buffers: the card (``i``), one packed ``code`` word (kind, old and new state, the
  change flag, the cause, the reason bits and the detail's shape: ``I``), the amount (``q``) and the tag (``H``);
  time is run-length encoded (events are appended in time order and a cohort's events share their instant).
  About 18 bytes an event.
- The one common fact of an event (a charge's item, a renewal's plan) is an interned string in the ``tag`` column.
- Details are kept as *shapes*: a detail whose values are plain ints, strings, booleans or None is stored as one row
  of its shape's columns (its keys and value types kept once per shape), and the dict is built again only when the
  event is read; anything else (a float, a list) stays a dict in a sparse map.
- ``append_many`` appends a cohort's events in one go; the per-card index (a card's history) is derived from the
  card column when it is read, not kept as one list per card.

Events are numbered from 0 in the order they happened; that number is the cursor of the events feed.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Iterable, Iterator

import numpy as np


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
_KINDS = list(Kind)

# The packed code word: bits 0-4 kind, 5-7 old state, 8-10 new state, 11-12 change, 13-14 cause, 15-24 reasons,
# 25-31 the detail's shape (0: none, 1: a dict in the sparse map, 2..127: a shape's row).
_OLD, _NEW, _CHANGE, _CAUSE, _REASONS, _SHAPE = 5, 8, 11, 13, 15, 25
NO_DETAIL, DICT_DETAIL, MAX_SHAPES = 0, 1, 128
_INT64 = (-(1 << 63), (1 << 63) - 1)


def pack(kind: int, cause: int, old: int = 0, new: int = 0, reasons: int = 0, change: int = CHANGE_NONE) -> int:
    """The code word of an event without detail (for ``append_many``)."""
    return kind | old << _OLD | new << _NEW | change << _CHANGE | cause << _CAUSE | reasons << _REASONS


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


_TYPE_CODES = {int: "i", str: "s", bool: "b", type(None): "n"}


class _Shape:
    """The rows of every detail with the same keys and value types: one column per key (ints ``q``, booleans
    ``B``, strings a list of references — a repeated string is one object —, None not stored). Types are kept as
    codes ("i", "s", "b", "n")."""

    __slots__ = ("keys", "types", "seqs", "columns")

    def __init__(self, keys: tuple[str, ...], types: tuple[str, ...]) -> None:
        self.keys, self.types = keys, types
        self.seqs = array("Q")
        self.columns: list[Any] = [array("q") if t == "i" else [] if t == "s" else array("B") if t == "b" else None
                                   for t in types]

    def __getstate__(self) -> tuple:
        return self.keys, self.types, self.seqs, self.columns

    def __setstate__(self, state: tuple) -> None:
        self.keys, self.types, self.seqs, self.columns = state


class EventLog:
    """Append-only, column-wise event storage."""

    def __init__(self) -> None:
        self.card = array("i")
        self.code = array("I")
        self.amount = array("q")
        self.tag = array("H")  # index into ``tags``; 0 = none
        self.tags: list[str] = [""]
        self._tag_ids: dict[str, int] = {"": 0}
        self._run_seq = array("Q")  # time, run-length encoded: the first seq of each run of equal times …
        self._run_time = array("q")  # … and that time
        self._last_time: int | None = None
        self._dicts: dict[int, dict[str, Any]] = {}  # details no shape can hold
        self._shapes: list[_Shape | None] = [None, None]
        self._shape_ids: dict[tuple, int] = {}
        self._index: tuple[Any, Any, int] | None = None  # per-card index (derived, never pickled)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what follows from the rest: the per-card index, the lookups of interned strings and of
        shapes (whose keys hold types, which a snapshot never names)."""
        state = self.__dict__.copy()
        state["_index"] = None
        del state["_shape_ids"], state["_tag_ids"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tag_ids = {tag: i for i, tag in enumerate(self.tags)}
        by_code = {code: t for t, code in _TYPE_CODES.items()}
        self._shape_ids = {(s.keys, tuple(by_code[t] for t in s.types)): i
                           for i, s in enumerate(self._shapes) if s is not None}

    def __len__(self) -> int:
        return len(self.code)

    # ------------------------------------------------------------------ writing

    def _tag_id(self, tag: str) -> int:
        tag_id = self._tag_ids.get(tag)
        if tag_id is None:
            tag_id = self._tag_ids[tag] = len(self.tags)
            self.tags.append(tag)
        return tag_id

    def _store_detail(self, seq: int, detail: dict[str, Any]) -> int:
        """Store a detail as its shape's row; returns the shape id (DICT_DETAIL: kept as a dict)."""
        types = tuple(type(v) for v in detail.values())
        key = (tuple(detail), types)
        shape_id = self._shape_ids.get(key)
        if shape_id is None:
            if not all(t in _TYPE_CODES for t in types) or len(self._shapes) >= MAX_SHAPES:
                self._dicts[seq] = detail
                return DICT_DETAIL
            shape_id = self._shape_ids[key] = len(self._shapes)
            self._shapes.append(_Shape(key[0], tuple(_TYPE_CODES[t] for t in types)))
        shape = self._shapes[shape_id]
        assert shape is not None
        for value, t in zip(detail.values(), types):
            if t is int and not _INT64[0] <= value <= _INT64[1]:
                self._dicts[seq] = detail
                return DICT_DETAIL
        shape.seqs.append(seq)
        for value, t, column in zip(detail.values(), types, shape.columns):
            if column is not None:
                column.append(value)
        return shape_id

    def _at(self, time: int) -> None:
        if time != self._last_time:
            self._run_seq.append(len(self.code))
            self._run_time.append(time)
            self._last_time = time

    def append(self, time: int, card: int, kind: int, cause: int, *, old: int = 0, new: int = 0,
               reasons: int = 0, change: int = CHANGE_NONE, amount: int = 0, tag: str = "",
               detail: dict[str, Any] | None = None) -> int:
        seq = len(self.code)
        if time != self._last_time:
            self._at(time)
        code = kind | old << _OLD | new << _NEW | change << _CHANGE | cause << _CAUSE | reasons << _REASONS
        if detail:
            code |= self._store_detail(seq, detail) << _SHAPE
        self.card.append(card)
        self.code.append(code)
        self.amount.append(amount)
        tag_id = self._tag_ids.get(tag)
        self.tag.append(self._tag_id(tag) if tag_id is None else tag_id)
        return seq

    def append_many(self, time: int, cards: np.ndarray, code: np.ndarray | int, amounts: np.ndarray | int = 0,
                    tags: np.ndarray | list[str] | str = "",
                    detail: tuple[tuple[str, ...], tuple[Any, ...]] | None = None) -> int:
        """Append one event per card of ``cards`` (in that order), all at ``time``: a cohort job's events in one
        go. ``code`` (``pack``), ``amounts`` and ``tags`` are one per card or one for all; ``detail`` is the keys of
        every event's detail and, per key, one value for all or a sequence of one per card (plain ints, strings,
        booleans or None). Returns the seq of the first."""
        first, n = len(self.code), len(cards)
        if not n:
            return first
        self._at(time)
        shape_bits = 0
        if detail is not None:
            shape_bits = self._store_details(first, n, *detail) << _SHAPE
        codes = np.broadcast_to(np.asarray(code, dtype=np.uint32) | np.uint32(shape_bits), (n,))
        self.card.frombytes(np.ascontiguousarray(cards, dtype=np.int32).tobytes())
        self.code.frombytes(np.ascontiguousarray(codes).tobytes())
        self.amount.frombytes(np.ascontiguousarray(np.broadcast_to(np.asarray(amounts, np.int64), (n,))).tobytes())
        if isinstance(tags, str):
            tag_ids = np.full(n, self._tag_id(tags), dtype=np.uint16)
        elif isinstance(tags, np.ndarray):
            tag_ids = tags.astype(np.uint16)
        else:
            ids: dict[str, int] = {}
            tag_ids = np.fromiter((ids[t] if t in ids else ids.setdefault(t, self._tag_id(t)) for t in tags),
                                  np.uint16, n)
        self.tag.frombytes(tag_ids.tobytes())
        return first

    def _store_details(self, first: int, n: int, keys: tuple[str, ...], values: tuple[Any, ...]) -> int:
        """The rows of ``n`` details of one shape for the events from ``first`` on (``append_many``)."""
        per_card = [not isinstance(v, (int, str, bool, type(None))) for v in values]
        types = tuple(type(v[0]) if many else type(v) for v, many in zip(values, per_card))
        types = tuple(int if issubclass(t, np.integer) else bool if t is np.bool_ else t for t in types)
        key = (tuple(keys), types)
        shape_id = self._shape_ids.get(key)
        if shape_id is None:
            if not all(t in _TYPE_CODES for t in types) or len(self._shapes) >= MAX_SHAPES:
                raise ValueError(f"details of types {types} cannot be stored in bulk")
            shape_id = self._shape_ids[key] = len(self._shapes)
            self._shapes.append(_Shape(key[0], tuple(_TYPE_CODES[t] for t in types)))
        shape = self._shapes[shape_id]
        assert shape is not None
        shape.seqs.frombytes(np.arange(first, first + n, dtype=np.uint64).tobytes())
        for value, many, t, column in zip(values, per_card, types, shape.columns):
            if t is int:
                column.frombytes(np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.int64), (n,))).tobytes())
            elif t is bool:
                column.frombytes(np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.uint8), (n,))).tobytes())
            elif t is str:
                column.extend(value if many else [value] * n)
        return shape_id

    def reorder_tail(self, start: int, keys: np.ndarray) -> None:
        """Put the events from ``start`` on in the order of ``keys`` (stable): a cohort job appends its events
        step by step for the whole cohort, and this makes the log read as if each card had been done in turn.
        The tail must lie within one instant."""
        n = len(self.code) - start
        assert len(keys) == n and self._run_seq[-1] <= start, "a reordered tail is one instant's events"
        order = np.argsort(keys, kind="stable")
        new_pos = np.empty(n, dtype=np.int64)
        new_pos[order] = np.arange(n)
        for column, dtype in ((self.card, np.int32), (self.code, np.uint32), (self.amount, np.int64),
                              (self.tag, np.uint16)):
            view = np.frombuffer(column, dtype=dtype)
            view[start:] = view[start:][order]
            del view
        for shape in self._shapes:
            if shape is None or not len(shape.seqs) or shape.seqs[-1] < start:
                continue
            seqs = np.frombuffer(shape.seqs, dtype=np.uint64)
            row0 = int(np.searchsorted(seqs, start))
            moved = new_pos[seqs[row0:].astype(np.int64) - start] + start
            rows = np.argsort(moved, kind="stable")
            seqs[row0:] = moved[rows]
            del seqs
            for t, column in zip(shape.types, shape.columns):
                if t == "s":
                    tail = column[row0:]
                    column[row0:] = [tail[r] for r in rows.tolist()]
                elif column is not None:
                    view = np.frombuffer(column, dtype={"i": np.int64, "b": np.uint8}[t])
                    view[row0:] = view[row0:][rows]
                    del view
        moved_dicts = {seq: d for seq, d in self._dicts.items() if seq >= start}
        for seq in moved_dicts:
            del self._dicts[seq]
        for seq, d in moved_dicts.items():
            self._dicts[int(new_pos[seq - start]) + start] = d
        self._index = None if self._index is not None and self._index[2] > start else self._index

    # ------------------------------------------------------------------ reading

    def time_of(self, seq: int) -> int:
        return self._run_time[bisect_right(self._run_seq, seq) - 1]

    def kind_of(self, seq: int) -> Kind:
        return _KINDS[self.code[seq] & 31]

    def card_of(self, seq: int) -> int:
        return self.card[seq]

    def detail_of(self, seq: int) -> dict[str, Any] | None:
        """The event's own detail (without its tag)."""
        shape_id = self.code[seq] >> _SHAPE
        if shape_id == NO_DETAIL:
            return None
        if shape_id == DICT_DETAIL:
            return self._dicts[seq]
        shape = self._shapes[shape_id]
        assert shape is not None
        row = bisect_left(shape.seqs, seq)
        out = {}
        for key, t, column in zip(shape.keys, shape.types, shape.columns):
            if t == "i" or t == "s":
                out[key] = column[row]
            elif t == "b":
                out[key] = bool(column[row])
            else:
                out[key] = None
        return out

    def get(self, seq: int) -> EventRecord:
        code = self.code[seq]
        kind = _KINDS[code & 31]
        detail = self.detail_of(seq)
        tag = self.tags[self.tag[seq]]
        if tag:
            detail = {TAG_FIELD.get(kind, "tag"): tag, **(detail or {})}
        return EventRecord(seq, self.time_of(seq), self.card[seq], kind, code >> _OLD & 7, code >> _NEW & 7,
                           code >> _REASONS & 1023, code >> _CHANGE & 3, code >> _CAUSE & 3, self.amount[seq],
                           detail)

    def read(self, seqs: Iterable[int]) -> Iterator[EventRecord]:
        for seq in seqs:
            yield self.get(seq)

    def since(self, cursor: int, limit: int | None = None) -> Iterator[EventRecord]:
        end = len(self) if limit is None else min(len(self), cursor + limit)
        return self.read(range(max(cursor, 0), end))

    def kind_counts(self) -> dict[Kind, int]:
        """How many events of each kind."""
        if not len(self.code):
            return {}
        kinds = (np.frombuffer(self.code, dtype=np.uint32) & 31).astype(np.intp)
        counts = np.bincount(kinds, minlength=len(_KINDS))
        found, first = np.unique(kinds, return_index=True)
        return {_KINDS[k]: int(counts[k]) for k in found[np.argsort(first)]}  # in order of first occurrence

    def money_by_kind(self) -> dict[Kind, int]:
        """The sum of the amounts of each kind of event (fen), for the kinds that moved any money."""
        if not len(self.code):
            return {}
        kinds = (np.frombuffer(self.code, dtype=np.uint32) & 31).astype(np.intp)
        amounts = np.frombuffer(self.amount, dtype=np.int64)
        moved = kinds[amounts != 0]
        found, first = np.unique(moved, return_index=True)
        return {_KINDS[k]: int(amounts[kinds == k].sum()) for k in found[np.argsort(first)]}

    def of_card(self, card: int) -> list[int]:
        """The seqs of a card's events, in order (LIFE-4: its history). Derived from the card column: an index
        sorted by card covers the log up to the last time it was built, and the events since are scanned; the index
        is built again once that tail is long."""
        n = len(self.card)
        index = self._index
        if index is None or n - index[2] > max(1 << 16, index[2] >> 3):
            cards = np.frombuffer(self.card, dtype=np.int32) if n else np.zeros(0, np.int32)
            order = np.argsort(cards, kind="stable").astype(np.uint32)
            starts = np.searchsorted(cards[order], np.arange(max(int(cards.max(initial=-1)) + 2, 1)), "left")
            index = self._index = (order, starts, n)
            del cards
        order, starts, built = index
        out: list[int] = []
        if 0 <= card < len(starts) - 1:
            out = order[starts[card]:starts[card + 1]].tolist()
        if built < n:
            tail = np.frombuffer(self.card, dtype=np.int32)[built:]
            out.extend((np.flatnonzero(tail == card) + built).tolist())
            del tail
        return out

    def nbytes(self) -> int:
        cols = (self.card, self.code, self.amount, self.tag, self._run_seq, self._run_time)
        shapes = sum(s.seqs.itemsize * len(s.seqs) + sum(c.itemsize * len(c) if isinstance(c, array) else 8 * len(c)
                                                         for c in s.columns if c is not None)
                     for s in self._shapes if s is not None)
        return sum(c.itemsize * len(c) for c in cols) + shapes
