"""RET-3 broken: a card cancelled at the end of its retention can still be renewed, and comes back to life.

Realistic because renewal is written for "expired" cards, and an implementation that keys on the ``expired``
reason (still on the record after the automatic cancellation) rather than on the cancelled state revives a number
that the carrier has already released.
"""

from carriersim.simulator.model import Cause, State
from carriersim.simulator.rules import retention

from . import Mutant

_renew = retention.renew


def renew(engine, card):
    if card.phase == State.CANCELLED and card.cancel_cause == "retention_expired":
        # the bug: the cancellation is undone and the card renewed as if it were still in retention
        card.cancelled_at = card.cancel_cause = None
        engine.change(card, Cause.API, phase=State.ACTIVE)
    return _renew(engine, card)


MUTANT = Mutant(
    name="cancelled_card_renewable",
    rule="RET-3",
    description="Renewing a card that RET-2 cancelled restores it instead of being refused (the number is gone).",
    patches=(("carriersim.simulator.rules.retention.renew", renew),),
)
