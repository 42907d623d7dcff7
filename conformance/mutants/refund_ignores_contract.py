"""REF-1 broken: unused months are refunded on request even where the carrier's contract does not refund them.

Realistic because refund rules differ per carrier (China Unicom's contract has no unused-month refund) and a
platform written against one carrier's contract offers the same refund everywhere.
"""

from simulator.errors import SimError
from simulator.events import Kind
from simulator.model import Cause, Reason, State
from simulator.timeutil import add_cycles

from . import Mutant


def unused_months(engine, card):
    p = card.profile
    # the bug: no p.refund_unused_months check
    if card.phase == State.CANCELLED or card.term_end is None or card.reasons & Reason.EXPIRED:
        raise SimError("refund_not_allowed", f"Card {card.iccid} has no running term to refund.")
    cs = engine.carriers[p.id]
    whole, t = 0, cs.next_cycle
    while t < card.term_end:
        whole += 1
        t = add_cycles(t, 1, p.tz, p.billing_cycle_day)
    plan = card.plan
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


MUTANT = Mutant(
    name="refund_ignores_contract",
    rule="REF-1",
    description="An unused-months refund is granted on a carrier whose contract does not allow it (China Unicom).",
    patches=(("simulator.rules.refunds.unused_months", unused_months),),
)
