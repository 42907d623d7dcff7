"""BILL-5 broken: paying the arrears never resumes the card by itself, even where the carrier resumes on payment.

Realistic because many carriers do require a re-activation request (人工复机); a platform that implements only that
path ignores the profile's "充值后可自行恢复" and leaves paid-up cards stopped.
"""

from carriersim.simulator.model import Reason, State

from . import Mutant


def post(self, card, kind, amount, cause, item, **extra):
    card.balance += amount
    seq = self.events.append(self.now, card.idx, kind, cause, amount=amount, tag=item, detail=extra or None)
    if card.balance < 0 and not card.reasons & Reason.ARREARS and card.phase != State.CANCELLED:
        self.change(card, cause, add=Reason.ARREARS, detail={"balance": card.balance})  # BILL-4 kept
    # the bug: no automatic BILL-5 resume on payment; only ``reactivate`` lifts arrears
    return seq


MUTANT = Mutant(
    name="arrears_not_auto_resumed",
    rule="BILL-5",
    description="Topping up a card in arrears does not resume it, though the carrier's profile resumes on payment; "
                "it needs a reactivation request.",
    patches=(("carriersim.simulator.engine.Engine.post", post),),
)
