"""REF-1 broken: when a plan change replaces a multi-month term, the unused whole months of the old term are
refunded to the balance automatically.

Realistic because pro-rata credit on a plan change is what many consumer platforms do; the seed's carriers refund
fees only on request, where the contract allows (不主动退费).
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause, State
from carriersim.simulator.rules import plan_change
from carriersim.simulator.timeutil import add_cycles

from . import Mutant

_apply_pending = plan_change.apply_pending


def apply_pending(engine, cs):
    p = cs.profile
    credits = []
    for card in cs.pending.values():
        plan = card.pending_plan
        if (plan is None or card.phase in (State.CANCELLED, State.PENDING_CANCEL) or card.term_end is None
                or card.prepaid_terms):
            continue
        whole, t = 0, engine.now
        while t < card.term_end:
            whole += 1
            t = add_cycles(t, 1, p.tz, p.billing_cycle_day)
        amount = card.plan.price * whole // card.plan.term_months
        if amount > 0:
            credits.append((card, amount, whole))
    for card, amount, whole in credits:  # the bug: an unasked-for refund of the old term's unused months
        engine.post(card, Kind.REFUND, amount, Cause.CLOCK, "unused_months", months=whole, prepaid=0)
    _apply_pending(engine, cs)


MUTANT = Mutant(
    name="refund_on_plan_change",
    rule="REF-1",
    description="A plan change taking effect refunds the old term's unused whole months automatically, without "
                "a refund request.",
    patches=(("carriersim.simulator.rules.cycle.apply_pending", apply_pending),),
)
