"""Plan changes (变更套餐): PLAN-1 next-cycle effect, PLAN-2 replace/withdraw. PLAN-3 (only the selling channel may
change a plan, and others learn nothing) is enforced where every card is looked up: ``Simulation._card``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State, plan_of
from ..profile import Plan
from .billing import require_funds, require_not_cancelled

if TYPE_CHECKING:
    from ..engine import CarrierState, Engine


def request(engine: "Engine", card: Card, plan: Plan) -> int:
    """PLAN-1: the change takes effect at the start of the next cycle, never now; until then the old plan, its
    quota and its price stay. PLAN-2: a new request replaces a pending one. Returns the effective instant."""
    require_not_cancelled(card)
    if card.phase in (State.PENDING_CANCEL, State.INVENTORY) or card.reasons & Reason.EXPIRED:
        raise SimError("plan_change_not_allowed", f"Card {card.iccid} is {card.state.label}; a plan can be changed "
                       "only on a card with a valid plan (renew an expired card instead).", state=card.state.label)
    if plan.code == plan_of(card).code:
        raise SimError("plan_change_not_allowed", f"Card {card.iccid} is already on plan {plan.code}"
                       + ("; withdraw the pending change to stay on it." if card.pending_plan else "."))
    if card.prepaid_terms:
        raise SimError("plan_change_not_allowed", f"Card {card.iccid} has its next term of {plan_of(card).code} paid "
                       "in advance; the plan cannot change before that term is used.")
    require_funds(card, plan.price, f"Plan {plan.code}")  # BILL-1: it will be paid when it starts
    cs = engine.carriers[card.profile.id]
    replaced = card.pending_plan.code if card.pending_plan else None
    card.pending_plan, card.pending_at = plan, cs.next_cycle
    cs.pending[card.idx] = card
    engine.emit(card, Kind.PLAN_CHANGE_REQUESTED, Cause.API,
                detail={"from": plan_of(card).code, "to": plan.code, "effective_at": engine.iso(cs.next_cycle),
                        "replaces": replaced})
    return cs.next_cycle


def withdraw(engine: "Engine", card: Card) -> None:
    """PLAN-2: a pending change can be withdrawn before it takes effect."""
    if card.pending_plan is None:
        raise SimError("no_pending_change", f"Card {card.iccid} has no pending plan change to withdraw.")
    engine.emit(card, Kind.PLAN_CHANGE_WITHDRAWN, Cause.API, detail={"plan": card.pending_plan.code})
    card.pending_plan = card.pending_at = None
    engine.carriers[card.profile.id].pending.pop(card.idx, None)


def apply_pending(engine: "Engine", cs: "CarrierState") -> None:
    """At the cycle start: every pending change takes effect (BILL-2) and starts a new term of the new plan, paid
    now (BILL-1). A card that can no longer pay keeps its old plan; the failure is an event."""
    pending, cs.pending = cs.pending, {}
    for card in pending.values():
        plan = card.pending_plan
        card.pending_plan = card.pending_at = None
        if plan is None or card.phase == State.CANCELLED:
            continue
        # what ``request`` refuses must not happen at the cycle start either: a term of the old plan paid in
        # advance since the request (renew) would otherwise be used up by the new, dearer plan; a card under
        # cancellation review or expired must not be charged for a new term
        why = ("prepaid_term" if card.prepaid_terms else
               "pending_cancel" if card.phase == State.PENDING_CANCEL else
               "expired" if card.reasons & Reason.EXPIRED else
               "insufficient_balance" if card.balance < plan.price else None)
        if why is not None:
            engine.emit(card, Kind.PLAN_CHANGE_FAILED, Cause.CLOCK, detail={"plan": plan.code, "why": why})
            continue
        old = plan_of(card).code
        card.plan = plan
        engine.post(card, Kind.CHARGE, -plan.price, Cause.CLOCK, plan.code)
        if card.term_start is not None:  # an activated card starts the new plan's term now
            card.term_start = engine.now
            card.term_end = engine.term_end_from(card, plan.term_months)
            engine.schedule_term_end(card)
        engine.emit(card, Kind.PLAN_CHANGE_APPLIED, Cause.CLOCK, detail={"from": old, "to": plan.code})
