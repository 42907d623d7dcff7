"""PLAN-2 broken: a second plan-change request is refused while one is pending, instead of replacing it.

Realistic because "one pending order per card" is a common guard against double submissions; the rule says the
latest request wins (a customer who picked the wrong plan just asks again).
"""

from carriersim.simulator.errors import SimError
from carriersim.simulator.rules import plan_change

from . import Mutant

_request = plan_change.request


def request(engine, card, plan):
    if card.pending_plan is not None and plan.code != card.plan.code:
        raise SimError("plan_change_pending", f"Card {card.iccid} already has a change to "
                       f"{card.pending_plan.code} pending; withdraw it first.")  # the bug
    return _request(engine, card, plan)


MUTANT = Mutant(
    name="plan_change_not_replaceable",
    rule="PLAN-2",
    description="A new plan-change request is refused while another is pending, instead of replacing it.",
    patches=(("carriersim.simulator.rules.plan_change.request", request),),
)
