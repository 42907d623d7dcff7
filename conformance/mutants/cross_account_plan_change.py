"""PLAN-3 broken: any account may change the plan of any card it can name.

Realistic because a plan-change endpoint that looks the card up by ICCID alone (no ownership filter) is the classic
broken object-level authorization bug; the seed's 谁办理谁负责售后 is then not enforced for plan changes.
"""

from carriersim.simulator.rules import maintenance, plan_change
from carriersim.simulator.timeutil import to_datetime

from . import Mutant


def change_plan(self, account_id, iccid, plan):
    card = self._card(None, iccid)  # the bug: looked up without the caller's account
    maintenance.gate(self.engine, self.engine.carriers[card.profile.id])
    return to_datetime(plan_change.request(self.engine, card, self._plan(card, plan)), self.tz)


MUTANT = Mutant(
    name="cross_account_plan_change",
    rule="PLAN-3",
    description="A plan change is accepted from an account that did not sell the card (no ownership check).",
    patches=(("carriersim.simulator.simulation.Simulation.change_plan", change_plan),),
)
