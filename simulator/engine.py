"""The engine core: the world's state, the clock loop and the primitives every rule goes through.

``Engine`` holds the profiles, accounts, cards, pools, the event log and the scheduler, and offers the three
primitives rules are written with: ``change`` (state and reasons, LIFE-1..4), ``post`` (money, which triggers
BILL-4/BILL-5) and ``emit`` (any other event). It never reads the wall clock: time moves only through ``advance``
(``simulator.simulation.Simulation`` adds the public operations on top).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Callable, Iterable

import numpy as np

from .clock import Due, JobKind, Scheduler
from .errors import SimError
from .events import CHANGE_ADDED, CHANGE_NONE, CHANGE_REMOVED, EventLog, Kind, pack
from .gcpause import paused_gc
from .model import Account, Card, Cause, Pool, Reason, State
from .profile import CarrierProfile, builtin_profiles, carrier_exists_message
from .records import AdvanceResult
from .timeutil import (Instant, add_cycles, add_duration, cycle_start_on_or_before, months_after, parse_duration,
                       parse_instant, to_datetime, to_iso, zone)

DEFAULT_START = "2027-01-01T00:00:00+08:00"
DEFAULT_TIMEZONE = "Asia/Shanghai"


# What to do instead of moving the clock back depends on who holds the world: in the engine nothing keeps old
# states, so the way back is a new world; a server says its own way (simulator/http/control.py).
ENGINE_REWIND = ("To work at an earlier time, start a new Simulation(start=...) and replay the steps; the engine "
                 "keeps no snapshots.")


def clock_backwards_message(now: str | None, when: str | None, advice: str) -> str:
    """The clock_backwards refusal: where the clock is, what was asked, and the way back that fits the mode."""
    return f"The clock never moves backwards: it is {now} and {when} is earlier. {advice}"


@dataclass
class CarrierState:
    """Per-carrier cohort state: the current cycle and the indices the cycle start works from, so that a cycle
    start touches only the cards that have something due (dicts keyed by card index keep a deterministic order)."""

    profile: CarrierProfile
    cycle: int = 0
    cycle_start: Instant = 0
    next_cycle: Instant = 0
    cards: list[Card] = field(default_factory=list)
    term_ends: dict[Instant, list[Card]] = field(default_factory=dict)
    pending: dict[int, Card] = field(default_factory=dict)  # PLAN-1: changes due at next cycle start
    quota_stopped: dict[int, Card] = field(default_factory=dict)  # QUOTA-2
    retained: dict[int, Card] = field(default_factory=dict)  # RET-1: cards paying the retention fee
    pools: list[Pool] = field(default_factory=list)
    maintenance_until: Instant | None = None  # MAINT-1
    serial: int = 0  # for identifiers of new cards
    term_end_cache: dict[tuple[Instant, int], Instant] = field(default_factory=dict)  # calendar maths is slow


class CohortOrder:
    """The order of a cohort job's events. A job works step by step over the whole cohort (every card's charge,
    then every card's renewal event) and appends each step in bulk; each event carries a key (the card's position
    in the cohort × 64 + its step), and ``finish`` reorders the job's events by key, so that the log reads exactly
    as if the cards had been done one after another (the per-card rules' order)."""

    STEP = 64

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.start = len(log)
        self.parts: list[np.ndarray] = []

    def add(self, keys: np.ndarray) -> None:
        """Keys of the events a bulk append has just added, one per event."""
        self.parts.append(np.asarray(keys, dtype=np.int64))

    def slow(self, key: int, before: int) -> None:
        """Keys of the events one card's per-card rule has just added (from log length ``before`` on)."""
        m = len(self.log) - before
        assert m < self.STEP, "a card's step emitted more events than a cohort key can order"
        if m:
            self.parts.append(key + np.arange(m, dtype=np.int64))

    def finish(self) -> None:
        n = len(self.log) - self.start
        if not n:
            return
        keys = np.concatenate(self.parts)
        assert len(keys) == n, "every event of a cohort job has a key"
        if (np.diff(keys) < 0).any():
            self.log.reorder_tail(self.start, keys)


class Engine:
    def __init__(self, *, seed: int = 0, start: object = DEFAULT_START,
                 profiles: Iterable[CarrierProfile] | None = None, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.tz: tzinfo = zone(timezone)
        self.now: Instant = parse_instant(start, self.tz)
        self.events = EventLog()
        self.scheduler = Scheduler()
        self.accounts: dict[str, Account] = {}
        self.cards: list[Card] = []
        self.by_iccid: dict[str, Card] = {}
        self.pools: dict[str, Pool] = {}
        self.carriers: dict[str, CarrierState] = {}
        self.refunded_payments: set[int] = set()
        self.numbers: set[str] = set()  # IMSIs and MSISDNs handed out (ID-1: unique across carriers)
        self._handlers: dict[JobKind, Callable[[Engine, Due], None]] = {}
        for profile in (list(profiles) if profiles is not None else builtin_profiles()):
            self.add_carrier(profile)

    # ------------------------------------------------------------------ snapshots

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for snapshots without the indexes that follow from the cards (rebuilt on load)."""
        state = self.__dict__.copy()
        del state["by_iccid"], state["numbers"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.by_iccid = {c.iccid: c for c in self.cards}
        self.numbers = {n for c in self.cards for n in (c.imsi, c.msisdn)}

    # ------------------------------------------------------------------ carriers and the clock

    def add_carrier(self, profile: CarrierProfile) -> None:
        """Register a carrier (CAR-2: a profile is all it takes) and schedule its first cycle start."""
        if profile.id in self.carriers:
            loaded_from = self.carriers[profile.id].profile.source
            raise SimError("carrier_exists", carrier_exists_message(profile.id, loaded_from), status=409)
        cs = CarrierState(profile)
        cs.cycle_start = cycle_start_on_or_before(self.now, profile.tz, profile.billing_cycle_day)
        cs.next_cycle = add_cycles(cs.cycle_start, 1, profile.tz, profile.billing_cycle_day)
        self.carriers[profile.id] = cs
        self.scheduler.at(cs.next_cycle, JobKind.CYCLE_START, profile.id)

    def carrier(self, carrier: str) -> CarrierState:
        cs = self.carriers.get(carrier)
        if cs is None:
            raise SimError("carrier_not_found", f"No carrier {carrier!r} is loaded; known: "
                           f"{', '.join(sorted(self.carriers))}.", status=404)
        return cs

    def on(self, kind: JobKind, handler: Callable[["Engine", Due], None]) -> None:
        self._handlers[kind] = handler

    def resolve_target(self, to: object = None, by: object = None) -> Instant:
        if (to is None) == (by is None):
            raise SimError("invalid_input", "Say either to= (a time) or by= (a duration), not both or neither.",
                           status=422)
        if by is not None:
            return add_duration(self.now, parse_duration(by), self.tz)
        return parse_instant(to, self.tz)

    def advance(self, to: object = None, by: object = None) -> AdvanceResult:
        """Move the clock forward, running every due job in time order; return when the world has settled."""
        target = self.resolve_target(to, by)
        if target < self.now:
            try:
                when = self.iso(target)
            except (ValueError, OverflowError, OSError):  # e.g. 0001-01-01 is in year 0 in UTC: not a datetime
                when = "the target"
            raise SimError("clock_backwards", clock_backwards_message(self.iso(self.now), when, ENGINE_REWIND),
                           status=409)
        start, first_event, jobs = self.now, len(self.events), 0
        with paused_gc():
            while (due := self.scheduler.pop_due(target)) is not None:
                self.now = due.when
                self._handlers[due.kind](self, due)
                jobs += 1
        self.now = target
        return AdvanceResult(to_datetime(start, self.tz), to_datetime(target, self.tz), jobs,
                             len(self.events) - first_event)

    def iso(self, ts: Instant | None, tz: tzinfo | None = None) -> str | None:
        return None if ts is None else to_iso(ts, tz or self.tz)

    def now_dt(self) -> datetime:
        return to_datetime(self.now, self.tz)

    # ------------------------------------------------------------------ the primitives rules use

    def emit(self, card: Card | None, kind: Kind, cause: Cause, *, amount: int = 0, tag: str = "",
             detail: dict[str, Any] | None = None) -> int:
        return self.events.append(self.now, card.idx if card else -1, kind, cause, amount=amount, tag=tag,
                                  detail=detail)

    def change(self, card: Card, cause: Cause, *, add: int = 0, remove: int = 0, phase: State | None = None,
               detail: dict[str, Any] | None = None) -> None:
        """LIFE-3/LIFE-4: the one place a card's reasons or phase change; every change is an event with the old
        state, the new state, the reason added or removed and the cause. Keeps the cohort indices in step."""
        before_mask, before_phase = card.reasons, card.phase
        old_state = card.state
        mask = (before_mask | add) & ~remove
        added, removed = mask & ~before_mask, before_mask & ~mask
        if phase is not None:
            card.phase = phase
        card.reasons = mask
        if not added and not removed and card.phase == before_phase:
            return
        cs = self.carriers[card.profile.id]
        if added & Reason.QUOTA:
            cs.quota_stopped[card.idx] = card
        elif removed & Reason.QUOTA:
            cs.quota_stopped.pop(card.idx, None)
        if added & Reason.EXPIRED:
            cs.retained[card.idx] = card
        elif removed & Reason.EXPIRED:
            cs.retained.pop(card.idx, None)
        if card.phase == State.CANCELLED and before_phase != State.CANCELLED:
            for index in (cs.quota_stopped, cs.retained, cs.pending):
                index.pop(card.idx, None)
        new_state = card.state
        flag = CHANGE_ADDED if added else (CHANGE_REMOVED if removed else CHANGE_NONE)
        if added and removed:  # both in one change: record them as two events, additions first
            self._state_event(card, cause, old_state, new_state, added, CHANGE_ADDED, detail)
            self._state_event(card, cause, new_state, new_state, removed, CHANGE_REMOVED, detail)
            return
        self._state_event(card, cause, old_state, new_state, added or removed, flag, detail)

    def _state_event(self, card: Card, cause: Cause, old: State, new: State, reasons: int, flag: int,
                     detail: dict[str, Any] | None) -> None:
        self.events.append(self.now, card.idx, Kind.STATE_CHANGED, cause, old=old, new=new, reasons=reasons,
                           change=flag, detail=detail)

    def post(self, card: Card, kind: Kind, amount: int, cause: Cause, item: str, **extra: Any) -> int:
        """Money: change the card's balance by ``amount`` fen and record it. Then BILL-4: a balance below zero
        suspends the card for ``arrears``; BILL-5: paying it back resumes it where the carrier allows."""
        card.balance += amount
        seq = self.events.append(self.now, card.idx, kind, cause, amount=amount, tag=item, detail=extra or None)
        if card.balance < 0:
            if not card.reasons & Reason.ARREARS and card.phase != State.CANCELLED:
                self.change(card, cause, add=Reason.ARREARS, detail={"balance": card.balance})  # BILL-4
        elif card.reasons & Reason.ARREARS and card.profile.arrears_auto_resume:
            self.change(card, cause, remove=Reason.ARREARS, detail={"balance": card.balance})  # BILL-5
        return seq

    # ------------------------------------------------------------------ the bulk primitives cohort jobs use

    def cohort(self) -> CohortOrder:
        return CohortOrder(self.events)

    def emit_many(self, cards: list[Card], kind: Kind, cause: Cause, order: CohortOrder, keys: np.ndarray, *,
                  tags: list[str] | str = "", detail: tuple[tuple[str, ...], tuple[Any, ...]] | None = None) -> None:
        """``emit`` for a cohort: one event per card (``EventLog.append_many`` for the detail's form)."""
        if cards:
            self.events.append_many(self.now, np.fromiter((c.idx for c in cards), np.int32, len(cards)),
                                    pack(kind, cause), tags=tags, detail=detail)
            order.add(keys)

    def change_many(self, cards: list[Card], cause: Cause, order: CohortOrder, keys: np.ndarray, *, add: int = 0,
                    remove: int = 0, phase: State | None = None,
                    detail: tuple[tuple[str, ...], tuple[Any, ...]] | None = None) -> None:
        """``change`` for a cohort, in one of its three common forms: add reasons (``add``), clear reasons
        (``remove``) or move to a phase (``phase``). The one place a cohort job's states change: LIFE-3/LIFE-4 as in
        ``change`` (an event with the old state, the new state, the reasons added or removed and the cause, for
        every card that changes) and the cohort indices kept in step. ``detail`` values given per card are per card
        of ``cards``. One pass over the cards: reading a million cards' fields is the cost."""
        if not cards:
            return
        assert (bool(add) + bool(remove) + (phase is not None)) == 1, "change_many does one kind of change"
        active, expired, cancelled = State.ACTIVE, Reason.EXPIRED, State.CANCELLED
        flag = CHANGE_ADDED if add else CHANGE_REMOVED if remove else CHANGE_NONE
        base = pack(Kind.STATE_CHANGED, cause, change=flag)
        carriers = self.carriers
        changed, idx, codes = [], [], []
        for i, card in enumerate(cards):
            before, before_phase = card.reasons, card.phase
            if add:
                if before & add == add:
                    continue
                after, after_phase = before | add, before_phase
                card.reasons = after
            elif remove:
                if not before & remove:
                    continue
                after, after_phase = before & ~remove, before_phase
                card.reasons = after
            else:
                if before_phase == phase or phase is None:
                    continue
                after, after_phase = before, phase
                card.phase = phase
            retains = card.profile.retention_months > 0
            old = (before_phase if before_phase != active else active if not before else
                   State.RETAINED if before & expired and retains else State.SUSPENDED)
            new = (after_phase if after_phase != active else active if not after else
                   State.RETAINED if after & expired and retains else State.SUSPENDED)
            bits = after & ~before if add else before & ~after if remove else 0
            codes.append(base | old << 5 | new << 8 | bits << 15)
            idx.append(card.idx)
            changed.append(i)
            if add & (Reason.QUOTA | expired) or remove & (Reason.QUOTA | expired) or phase == cancelled:
                cs = carriers[card.profile.id]
                if add & Reason.QUOTA:
                    cs.quota_stopped[card.idx] = card
                elif remove & Reason.QUOTA:
                    cs.quota_stopped.pop(card.idx, None)
                if add & expired:
                    cs.retained[card.idx] = card
                elif remove & expired:
                    cs.retained.pop(card.idx, None)
                if phase == cancelled:
                    for index in (cs.quota_stopped, cs.retained, cs.pending):
                        index.pop(card.idx, None)
        if not changed:
            return
        if len(changed) < len(cards):
            keys = keys[changed]
            if detail is not None:
                detail = (detail[0], tuple(v if isinstance(v, (int, str, bool, type(None))) else
                                           [v[i] for i in changed] for v in detail[1]))
        self.events.append_many(self.now, np.array(idx, np.int32), np.array(codes, np.uint32), detail=detail)
        order.add(keys)

    def post_many(self, cards: list[Card], kind: Kind, amounts: np.ndarray | int, cause: Cause, items: list[str] | str,
                  order: CohortOrder, keys: np.ndarray) -> None:
        """``post`` for a cohort: the one place a cohort job's money moves. Each card's balance changes by its
        amount and the move is recorded; then, as in ``post``, BILL-4: a balance below zero suspends the card for
        ``arrears``, and BILL-5: a paid-up card resumes where the carrier allows. One pass over the cards."""
        n = len(cards)
        if not n:
            return
        amounts = np.broadcast_to(np.asarray(amounts, dtype=np.int64), (n,))
        arrears, cancelled = Reason.ARREARS, State.CANCELLED
        idx, owing, owed, paid = [], [], [], []
        for i, (card, amount) in enumerate(zip(cards, amounts.tolist())):
            balance = card.balance + amount
            card.balance = balance
            idx.append(card.idx)
            if balance < 0:
                if not card.reasons & arrears and card.phase != cancelled:
                    owing.append(i)
                    owed.append(balance)
            elif card.reasons & arrears:
                paid.append(i)
        self.events.append_many(self.now, np.array(idx, np.int32), pack(kind, cause), amounts, items)
        order.add(keys)
        if owing:  # BILL-4
            self.change_many([cards[i] for i in owing], cause, order, keys[owing] + 1, add=arrears,
                             detail=(("balance",), (owed,)))
        for i in paid:  # BILL-5 (rare in a cohort: a card in arrears is not usually charged into credit)
            card = cards[i]
            if card.profile.arrears_auto_resume:
                before = len(self.events)
                self.change(card, cause, remove=arrears, detail={"balance": card.balance})
                order.slow(int(keys[i]) + 1, before)

    # ------------------------------------------------------------------ time helpers for rules

    def card_events(self, card: Card) -> list[int]:
        """LIFE-4: the seqs of a card's events, in order (its history)."""
        return self.events.of_card(card.idx)

    def cycle_start_of(self, card: Card) -> Instant:
        return self.carriers[card.profile.id].cycle_start

    def next_cycle_of(self, card: Card) -> Instant:
        return self.carriers[card.profile.id].next_cycle

    def term_end_from(self, card: Card, months: int) -> Instant:
        """A term of ``months`` started now ends ``months`` cycle starts after the current cycle's start: the
        current, partial cycle counts as the first month (natural-month billing, 自然月)."""
        cs = self.carriers[card.profile.id]
        key = (cs.cycle_start, months)
        end = cs.term_end_cache.get(key)
        if end is None:
            p = cs.profile
            end = cs.term_end_cache[key] = add_cycles(cs.cycle_start, months, p.tz, p.billing_cycle_day)
        return end

    def schedule_term_end(self, card: Card) -> None:
        cs = self.carriers[card.profile.id]
        assert card.term_end is not None, "a term end is scheduled once the term has one"
        cs.term_ends.setdefault(card.term_end, []).append(card)

    def months_after(self, ts: Instant, months: int, card: Card) -> Instant:
        """``months`` calendar months after ``ts`` in the card's carrier zone (computed once per instant, months
        and zone: a cohort's deadlines share it)."""
        return months_after(ts, months, card.profile.tz)
