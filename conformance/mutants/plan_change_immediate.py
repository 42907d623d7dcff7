"""PLAN-1 broken: a plan change takes effect at once instead of at the next cycle start.

Realistic because "change plan" is naturally written as an update of the card's plan field; the seed's "下个月开始生效,
且不支持当月生效" is easy to miss, and many consumer platforms do switch at once (with a pro-rata charge).
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause
from carriersim.simulator.rules import plan_change

from . import Mutant

_request = plan_change.request


def request(engine, card, plan):
    _request(engine, card, plan)  # every check, and the request event, as the real one
    cs = engine.carriers[card.profile.id]
    cs.pending.pop(card.idx, None)
    card.pending_plan = card.pending_at = None
    old = card.plan.code
    card.plan = plan
    engine.post(card, Kind.CHARGE, -plan.price, Cause.API, plan.code)
    if card.term_start is not None:
        card.term_start = engine.now
        card.term_end = engine.term_end_from(card, plan.term_months)
        engine.schedule_term_end(card)
    engine.emit(card, Kind.PLAN_CHANGE_APPLIED, Cause.API, detail={"from": old, "to": plan.code})
    return engine.now


MUTANT = Mutant(
    name="plan_change_immediate",
    rule="PLAN-1",
    description="A plan change is applied (and charged) the moment it is requested, not at the next cycle start.",
    patches=(("carriersim.simulator.rules.plan_change.request", request),),
)
