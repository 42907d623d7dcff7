"""Expiry and number retention (过期停机 / 停机保号): EXP-1, EXP-2, RET-1, RET-2, RET-3.

A term ends at a cycle start. Unrenewed, the card is suspended for ``expired`` and its number is kept in retention
(state ``retained``) for the carrier's retention months at its monthly fee; past the limit it is cancelled and the
number is gone (RET-3: ``billing.require_not_cancelled`` refuses everything after).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Due, JobKind
from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State, plan_of
from ..money import to_cny
from .billing import require_funds, require_not_cancelled
from .lifecycle import cancel
from .quota import remaining_kb

if TYPE_CHECKING:
    from ..engine import CarrierState, Engine


def _start_term(engine: "Engine", card: Card) -> None:
    card.term_start = engine.now
    card.term_end = engine.term_end_from(card, plan_of(card).term_months)
    engine.schedule_term_end(card)


def at_term_end(engine: "Engine", cs: "CarrierState") -> None:
    """Cycle start: every term ending now is renewed or expires. A card under cancellation review is frozen: its
    ended term is dealt with only if the review rejects the cancellation."""
    for card in cs.term_ends.pop(engine.now, ()):
        if card.term_end != engine.now or card.phase in (State.CANCELLED, State.PENDING_CANCEL):
            continue  # renewed, changed or cancelled since this was scheduled, or frozen under review
        if not card.reasons & Reason.EXPIRED:
            end_term(engine, card)


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
    months = card.profile.retention_months
    card.expired_at = engine.now
    card.retention_deadline = engine.months_after(engine.now, months, card)
    engine.emit(card, Kind.EXPIRED, Cause.CLOCK, tag=plan_of(card).code, detail={"why": why})
    engine.change(card, Cause.CLOCK, add=Reason.EXPIRED,
                  detail={"why": why, "retention_until": engine.iso(card.retention_deadline)})
    if months == 0:
        cancel_unretained(engine, card)
        return
    charge_retention_fee(engine, card)
    engine.scheduler.at(card.retention_deadline, JobKind.RETENTION_LIMIT, card)


def charge_retention_fee(engine: "Engine", card: Card) -> None:
    """RET-1: the monthly retention fee (China Mobile: 5 CNY). It is charged even into arrears (BILL-4)."""
    fee = card.profile.retention_fee
    if fee:
        engine.post(card, Kind.CHARGE, -fee, Cause.CLOCK, "retention_fee")


def charge_fees(engine: "Engine", cs: "CarrierState") -> None:
    """Cycle start: every card already in retention pays the month (cards expiring now pay in ``expire``)."""
    for card in list(cs.retained.values()):
        if card.phase != State.PENDING_CANCEL:  # a number being given up pays no retention
            charge_retention_fee(engine, card)


def on_limit(engine: "Engine", due: Due) -> None:
    """RET-2: a number in retention longer than the carrier's months is cancelled automatically."""
    for card in due.targets:
        if card.retention_deadline == due.when and card.reasons & Reason.EXPIRED and card.phase != State.CANCELLED:
            cancel_unretained(engine, card)


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
