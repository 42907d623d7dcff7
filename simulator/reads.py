"""Records from the engine's state: the one place that knows how a card, an event or a pool is laid out inside.

``Simulation``'s reads call these; every API renders the records they build (``simulator.records``). Usage honours
the lazy reset (counters of a past period read as zero), so this is also where "current" is decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from . import records as rec
from .events import CHANGE_ADDED, CHANGE_REMOVED, MONEY_KINDS, EventRecord, Kind
from .model import Card, Cause, Pool, Reason, State
from .rules.quota import period_of, pool_quota_kb
from .timeutil import to_datetime

if TYPE_CHECKING:
    from .engine import CarrierState, Engine

_CHANGE = {CHANGE_ADDED: "added", CHANGE_REMOVED: "removed"}


def _dt(engine: "Engine", ts: int | None) -> datetime | None:
    return None if ts is None else to_datetime(ts, engine.tz)


def pool_usage(cs: "CarrierState", pool: Pool) -> rec.PoolUsage:
    current = pool.period == cs.cycle
    addon = pool.addon_kb if current else 0
    return rec.PoolUsage(pool.id, pool.used_kb if current else 0, pool_quota_kb(pool) - pool.addon_kb + addon)


def usage(engine: "Engine", card: Card) -> rec.Usage | None:
    """Usage as of now; None for a card without a plan (inventory)."""
    if card.plan is None:
        return None
    cs = engine.carriers[card.profile.id]
    current = card.quota_period == period_of(card, cs)
    addon = card.addon_kb if current else 0
    return rec.Usage(
        cycle_kb=card.cycle_usage_kb if card.cycle == cs.cycle else 0,
        quota_used_kb=card.quota_used_kb if current else 0, addon_kb=addon, quota_kb=card.plan.quota_kb + addon,
        pool=pool_usage(cs, card.pool) if card.pool is not None else None,
        test_used_kb=card.test_used_kb if card.phase == State.TESTING else None)


def cancellation(engine: "Engine", card: Card) -> rec.Cancellation | None:
    if card.phase == State.CANCELLED:
        return rec.Cancellation("done", cause=card.cancel_cause, at=_dt(engine, card.cancelled_at),
                                certificate=card.certificate["number"] if card.certificate else None)
    req = card.cancel_request
    if req and card.phase == State.PENDING_CANCEL:
        return rec.Cancellation("under_review", review=req["review"], due=_dt(engine, req["due"]))
    return None


def card(engine: "Engine", c: Card) -> rec.Card:
    pending = None
    if c.pending_plan is not None and c.pending_at is not None:
        pending = rec.PendingChange(c.pending_plan.code, to_datetime(c.pending_at, engine.tz))
    return rec.Card(
        iccid=c.iccid, imsi=c.imsi, msisdn=c.msisdn, carrier=c.profile.id, account=c.account_id, state=c.state,
        reasons=rec.Reasons.of(c.reasons), plan=c.plan.code if c.plan else None, pending_change=pending,
        term_start=_dt(engine, c.term_start), term_end=_dt(engine, c.term_end), prepaid_terms=c.prepaid_terms,
        balance=c.balance, auto_suspend=c.auto_suspend, auto_renew=c.auto_renew, imei=c.imei,
        device_changes=c.device_changes, verified=c.verified, usage=usage(engine, c),
        opened_at=to_datetime(c.opened_at, engine.tz), activated_at=_dt(engine, c.activated_at),
        last_used_at=_dt(engine, c.last_used_at), expired_at=_dt(engine, c.expired_at),
        retention_until=_dt(engine, c.retention_deadline) if c.reasons & Reason.EXPIRED else None,
        real_name_deadline=_dt(engine, c.kyc_deadline) if not c.verified else None,
        cancellation=cancellation(engine, c), replaced_by=c.replaced_by, replaces=c.replaces)


def event(engine: "Engine", ev: EventRecord) -> rec.Event:
    state_change = ev.kind == Kind.STATE_CHANGED
    return rec.Event(
        seq=ev.seq, time=to_datetime(ev.time, engine.tz), kind=ev.kind,
        iccid=engine.cards[ev.card].iccid if ev.card >= 0 else None, cause=Cause(ev.cause),
        old_state=State(ev.old_state) if state_change else None,
        new_state=State(ev.new_state) if state_change else None,
        reasons=rec.Reasons.of(ev.reasons) if state_change else None,
        change=_CHANGE.get(ev.change, "none") if state_change else None,
        amount=ev.amount if ev.kind in MONEY_KINDS else None, detail=ev.detail)


def events(engine: "Engine", seqs: Iterator[EventRecord]) -> list[rec.Event]:
    return [event(engine, ev) for ev in seqs]


def ledger(engine: "Engine", c: Card) -> list[rec.LedgerEntry]:
    """The card's money events, each with the running balance after it."""
    rows, balance = [], 0
    for ev in engine.events.read(engine.card_events(c)):
        if ev.kind in MONEY_KINDS:
            balance += ev.amount
            rows.append(rec.LedgerEntry(ev.seq, to_datetime(ev.time, engine.tz), ev.kind,
                                        (ev.detail or {}).get("item"), ev.amount, balance))
    return rows


def pool(engine: "Engine", p: Pool) -> rec.Pool:
    used = pool_usage(engine.carriers[p.carrier], p) if p.members else rec.PoolUsage(p.id, 0, 0)
    return rec.Pool(p.id, p.carrier, p.name, tuple(c.iccid for c in p.members), used.used_kb, used.quota_kb)


def carrier(engine: "Engine", cs: "CarrierState") -> rec.Carrier:
    p = cs.profile
    return rec.Carrier(p.id, p.name, p.timezone, p.billing_cycle_day, p.retention_months, p.retention_fee,
                       p.arrears_auto_resume, p.kyc_grace_days, tuple(sorted(p.restricted_regions)),
                       _dt(engine, cs.maintenance_until))
