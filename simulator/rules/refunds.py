"""Refunds (退费): REF-1 (no automatic refunds; unused whole months and wrong-card top-ups on request, where the
contract allows) and CAN-4's balance refund or conversion within the window after cancellation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State, plan_of
from ..money import to_cny
from ..timeutil import add_cycles

if TYPE_CHECKING:
    from ..engine import Engine

DAY = 86400


def unused_months(engine: "Engine", card: Card) -> int:
    """REF-1: refund the whole unused months of the current term (and any prepaid term) to the balance; the plan
    then ends at the next cycle start and auto-renewal is turned off. Returns the fen refunded."""
    p = card.profile
    if not p.refund_unused_months:
        raise SimError("refund_not_allowed", f"{p.name}'s contract does not refund unused months.")
    if card.phase == State.CANCELLED or card.term_end is None or card.reasons & Reason.EXPIRED:
        raise SimError("refund_not_allowed", f"Card {card.iccid} has no running term to refund.")
    cs = engine.carriers[p.id]
    whole, t = 0, cs.next_cycle
    while t < card.term_end:
        whole += 1
        t = add_cycles(t, 1, p.tz, p.billing_cycle_day)
    plan = plan_of(card)
    amount = plan.price * whole // plan.term_months + plan.price * card.prepaid_terms
    if amount <= 0:
        raise SimError("nothing_to_refund", f"Card {card.iccid} has no whole unused month left in its term.")
    engine.post(card, Kind.REFUND, amount, Cause.API, "unused_months", months=whole, prepaid=card.prepaid_terms)
    card.prepaid_terms = 0
    card.term_end = cs.next_cycle
    engine.schedule_term_end(card)
    if card.auto_renew:
        card.auto_renew = False
        engine.emit(card, Kind.AUTO_RENEW_SET, Cause.API, detail={"enabled": False, "why": "refund"})
    return amount


def wrong_top_up(engine: "Engine", card: Card, payment_seq: int) -> int:
    """REF-1 充错: a top-up to the wrong card is paid back if nothing has been charged since it."""
    if not card.profile.refund_wrong_topup:
        raise SimError("refund_not_allowed", f"{card.profile.name}'s contract does not refund top-ups.")
    events = engine.events
    if not 0 <= payment_seq < len(events) or events.card_of(payment_seq) != card.idx \
            or events.kind_of(payment_seq) != Kind.PAYMENT:
        raise SimError("payment_not_found", f"Card {card.iccid} has no payment #{payment_seq}.", status=404)
    if payment_seq in engine.refunded_payments:
        raise SimError("already_refunded", f"Payment #{payment_seq} was already refunded.")
    amount = events.amount[payment_seq]
    used = any(events.kind_of(s) in (Kind.CHARGE, Kind.TRANSFER_OUT) for s in engine.card_events(card)
               if s > payment_seq)
    if used or card.balance < amount:
        raise SimError("refund_not_allowed", f"Payment #{payment_seq} has already been spent: a charge was made "
                       "from the balance since it.", amount=to_cny(amount))
    engine.refunded_payments.add(payment_seq)
    engine.post(card, Kind.PAYOUT, -amount, Cause.API, "wrong_top_up", payment=payment_seq)
    return amount


def balance_after_cancellation(engine: "Engine", card: Card, to: Card | None) -> int:
    """CAN-4: the remaining balance of a cancelled card is refunded, or converted to another card of the same
    account, if asked within the carrier's window (7 days)."""
    if card.phase != State.CANCELLED:
        raise SimError("invalid_state", f"Card {card.iccid} is not cancelled; a balance refund follows cancellation.")
    window = card.profile.cancellation.refund_window_days
    assert card.cancelled_at is not None  # set with the cancelled phase
    if engine.now > card.cancelled_at + window * DAY:
        raise SimError("refund_window_closed", f"The balance of card {card.iccid} could be claimed for {window} "
                       f"days after its cancellation on {engine.iso(card.cancelled_at)}.")
    amount = card.balance
    if amount <= 0:
        raise SimError("nothing_to_refund", f"Card {card.iccid} has no balance left.")
    if to is None:
        engine.post(card, Kind.PAYOUT, -amount, Cause.API, "balance_refund")
    else:
        if to.phase == State.CANCELLED or to.account_id != card.account_id:
            raise SimError("invalid_target", f"Card {to.iccid} cannot receive the balance.")
        engine.post(card, Kind.TRANSFER_OUT, -amount, Cause.API, "balance_conversion", to=to.iccid)
        engine.post(to, Kind.TRANSFER_IN, amount, Cause.API, "balance_conversion", **{"from": card.iccid})
    return amount
