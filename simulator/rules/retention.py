"""Expiry and number retention (过期停机 / 停机保号): EXP-1, EXP-2, RET-1, RET-2, RET-3.

A term ends at a cycle start. Unrenewed, the card is suspended for ``expired`` and its number is kept in retention
(state ``retained``) for the carrier's retention months at its monthly fee; past the limit it is cancelled and the
number is gone (RET-3: ``billing.require_not_cancelled`` refuses everything after).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..clock import Due, JobKind
from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State, plan_of
from ..money import to_cny
from .billing import require_funds, require_not_cancelled
from .lifecycle import cancel, cancel_many
from .quota import remaining_kb

if TYPE_CHECKING:
    from ..engine import CarrierState, CohortOrder, Engine

STEP = 64  # CohortOrder.STEP: a card's position in its cohort × STEP + the step orders the cohort's events


def _start_term(engine: "Engine", card: Card) -> None:
    card.term_start = engine.now
    card.term_end = engine.term_end_from(card, plan_of(card).term_months)
    engine.schedule_term_end(card)


def at_term_end(engine: "Engine", cs: "CarrierState") -> None:
    """Cycle start: every term ending now is renewed or expires. A card under cancellation review is frozen: its
    ended term is dealt with only if the review rejects the cancellation.

    The cohort is done in bulk, with the outcome of ``end_term`` for each card: a prepaid term is used, else
    auto-renewal charges the plan if the balance covers it, else the card expires (EXP-1, ``expire_many``)."""
    now = engine.now
    due = cs.term_ends.pop(now, ())
    frozen, expired = (State.CANCELLED, State.PENDING_CANCEL), Reason.EXPIRED
    cards, facts = [], []
    for c in dict.fromkeys(due):  # a card scheduled twice for this instant is done once
        if c.term_end == now and c.phase not in frozen and not c.reasons & expired:
            cards.append(c)  # (not: renewed, changed or cancelled since, or frozen under review)
            facts.append((c.prepaid_terms > 0, c.auto_renew, c.balance >= plan_of(c).price))
    if not cards:
        return
    n = len(cards)
    table = np.array(facts, dtype=bool).reshape(n, 3)
    prepaid, auto, covered = table[:, 0], table[:, 1], table[:, 2]
    renew = ~prepaid & auto & covered
    keys = np.arange(n, dtype=np.int64) * STEP
    order = engine.cohort()
    renewing = np.flatnonzero(renew).tolist()
    renewed = [cards[i] for i in renewing]
    engine.post_many(renewed, Kind.CHARGE, np.fromiter((-plan_of(c).price for c in renewed), np.int64, len(renewed)),
                     Cause.CLOCK, [plan_of(c).code for c in renewed], order, keys[renewing])
    ends: dict[int, list] = {}  # term months → (the new term's end, the cards scheduled for it)
    for i in np.flatnonzero(prepaid | renew).tolist():  # in cohort order: the schedule keeps the per-card order
        card = cards[i]
        if prepaid[i]:
            card.prepaid_terms -= 1
        months = plan_of(card).term_months
        end = ends.get(months)
        if end is None:
            t = engine.term_end_from(card, months)
            end = ends[months] = [t, cs.term_ends.setdefault(t, [])]
        card.term_start, card.term_end = now, end[0]  # _start_term, once per term length
        end[1].append(card)
    used = np.flatnonzero(prepaid).tolist()
    engine.emit_many(renewed, Kind.RENEWED, Cause.CLOCK, order, keys[renewing] + 2,
                     tags=[plan_of(c).code for c in renewed])  # auto-renewal: the common case, no detail
    engine.emit_many([cards[i] for i in used], Kind.RENEWED, Cause.CLOCK, order, keys[used],
                     tags=[plan_of(cards[i]).code for i in used], detail=(("prepaid",), (True,)))
    expiring = np.flatnonzero(~prepaid & ~renew).tolist()
    expire_many(engine, [cards[i] for i in expiring],
                ["auto_renew_off" if not auto[i] else "insufficient_balance" for i in expiring],
                order, keys[expiring])
    order.finish()


def end_term(engine: "Engine", card: Card) -> None:
    """A term has ended: use a prepaid term, else auto-renew if the balance covers the plan, else expire (EXP-1)."""
    plan = plan_of(card)
    if card.prepaid_terms:
        card.prepaid_terms -= 1
        _start_term(engine, card)
        engine.emit(card, Kind.RENEWED, Cause.CLOCK, tag=plan.code, detail={"prepaid": True})
    elif card.auto_renew and card.balance >= plan.price:
        engine.post(card, Kind.CHARGE, -plan.price, Cause.CLOCK, plan.code)
        _start_term(engine, card)
        engine.emit(card, Kind.RENEWED, Cause.CLOCK, tag=plan.code)  # auto-renewal: the common case, no detail
    else:
        expire(engine, card, "auto_renew_off" if not card.auto_renew else "insufficient_balance")


def expire(engine: "Engine", card: Card, why: str) -> None:
    """EXP-1: suspended for ``expired``; RET-2: the retention limit is scheduled."""
    order = engine.cohort()
    expire_many(engine, [card], [why], order, np.zeros(1, np.int64))
    order.finish()


def expire_many(engine: "Engine", cards: list[Card], whys: list[str], order: "CohortOrder", keys: np.ndarray, *,
                months: int | None = None) -> None:
    """EXP-1 for a cohort of one carrier's cards whose terms ended unrenewed: each is suspended for ``expired``
    and kept in retention (RET-1: the month's fee is charged at once); RET-2: the limit, the carrier's retention
    months from now, is scheduled (no retention: cancelled at once). ``months`` defaults to the profile's."""
    if not cards:
        return
    profile = cards[0].profile
    assert all(c.profile is profile for c in cards), "a cohort is one carrier's cards"
    months = profile.retention_months if months is None else months
    now = engine.now
    deadline = engine.months_after(now, months, cards[0])
    for card in cards:
        card.expired_at = now
        card.retention_deadline = deadline
    engine.emit_many(cards, Kind.EXPIRED, Cause.CLOCK, order, keys, tags=[plan_of(c).code for c in cards],
                     detail=(("why",), (whys,)))
    engine.change_many(cards, Cause.CLOCK, order, keys + 1, add=Reason.EXPIRED,
                       detail=(("why", "retention_until"), (whys, engine.iso(deadline))))
    if months == 0:
        cancel_many(engine, cards, Cause.CLOCK, "retention_expired", order, keys + 2)
        return
    fee = profile.retention_fee
    if fee:  # RET-1, charged even into arrears (BILL-4)
        engine.post_many(cards, Kind.CHARGE, -fee, Cause.CLOCK, "retention_fee", order, keys + 2)
    engine.scheduler.at_many(deadline, JobKind.RETENTION_LIMIT, cards)


def charge_retention_fee(engine: "Engine", card: Card) -> None:
    """RET-1: the monthly retention fee (China Mobile: 5 CNY). It is charged even into arrears (BILL-4)."""
    fee = card.profile.retention_fee
    if fee:
        engine.post(card, Kind.CHARGE, -fee, Cause.CLOCK, "retention_fee")


def charge_fees(engine: "Engine", cs: "CarrierState") -> None:
    """Cycle start: every card already in retention pays the month (RET-1; cards expiring now pay in
    ``expire_many``), in bulk."""
    fee = cs.profile.retention_fee
    cards = [c for c in cs.retained.values() if c.phase != State.PENDING_CANCEL]  # a number given up pays none
    if fee and cards:
        order = engine.cohort()
        engine.post_many(cards, Kind.CHARGE, -fee, Cause.CLOCK, "retention_fee", order,
                         np.arange(len(cards), dtype=np.int64) * STEP)
        order.finish()


def on_limit(engine: "Engine", due: Due) -> None:
    """RET-2: a number in retention longer than the carrier's months is cancelled automatically (in bulk)."""
    cards = [c for c in dict.fromkeys(due.targets)
             if c.retention_deadline == due.when and c.reasons & Reason.EXPIRED and c.phase != State.CANCELLED]
    if cards:
        order = engine.cohort()
        cancel_many(engine, cards, Cause.CLOCK, "retention_expired", order,
                    np.arange(len(cards), dtype=np.int64) * STEP)
        order.finish()


def cancel_unretained(engine: "Engine", card: Card) -> None:
    cancel(engine, card, Cause.CLOCK, "retention_expired")


def renew(engine: "Engine", card: Card) -> str:
    """EXP-2: renewing within the retention window restores the card the same day. On a card whose plan is still
    valid, the next term is paid in advance (QUOTA-4: a card stopped for quota then resumes at the next cycle, not
    now). BILL-1: paid from the balance. Returns "restored" or "prepaid"."""
    require_not_cancelled(card)  # RET-3
    if card.phase not in (State.ACTIVE, State.READY, State.TESTING):
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label} and cannot be renewed.",
                       state=card.state.label)
    plan = plan_of(card)
    if card.term_end is None:
        raise SimError("invalid_state", f"Card {card.iccid} is not activated yet; its first term is already paid.")
    require_funds(card, plan.price, f"Renewing {plan.code}")
    engine.post(card, Kind.CHARGE, -plan.price, Cause.API, plan.code)
    if card.reasons & Reason.EXPIRED:
        _start_term(engine, card)
        card.expired_at = card.retention_deadline = None
        engine.emit(card, Kind.RENEWED, Cause.API, tag=plan.code, detail={"restored": True})
        lift = int(Reason.EXPIRED)
        if card.reasons & Reason.QUOTA and remaining_kb(engine, card) > 0:
            # a plan whose quota covers the term: the new term brings a fresh quota, so a card that expired over
            # quota is restored now too (QUOTA-2 "once a new term starts"), not at the next cycle start
            lift |= Reason.QUOTA
        engine.change(card, Cause.API, remove=lift, detail={"renewed": plan.code})
        return "restored"
    card.prepaid_terms += 1
    engine.emit(card, Kind.RENEWED, Cause.API, tag=plan.code, detail={"prepaid": True, "amount": to_cny(plan.price)})
    return "prepaid"
