"""BILL-4 broken: a balance that falls below zero does not suspend the card for ``arrears``.

Realistic because a prepaid platform checks the balance when an order is placed (BILL-1) and may forget the charges
it makes on its own — overage, retention fees — which can take the balance below zero (欠费停机 never happens).
"""

from carriersim.simulator.model import Reason

from . import Mutant


def post(self, card, kind, amount, cause, item, **extra):
    card.balance += amount
    seq = self.events.append(self.now, card.idx, kind, cause, amount=amount, tag=item, detail=extra or None)
    # the bug: no BILL-4 suspension; a payment still lifts an arrears stop (BILL-5)
    if card.balance >= 0 and card.reasons & Reason.ARREARS and card.profile.arrears_auto_resume:
        self.change(card, cause, remove=Reason.ARREARS, detail={"balance": card.balance})
    return seq


MUTANT = Mutant(
    name="arrears_not_suspending",
    rule="BILL-4",
    description="A card whose balance goes below zero (overage, retention fee) keeps working: no arrears stop.",
    patches=(("carriersim.simulator.engine.Engine.post", post),),
)
