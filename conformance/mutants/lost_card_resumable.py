"""LOST-1 broken: a manual resume lifts a ``lost`` bar, without a replacement card.

Realistic because "resume" is often a generic "un-suspend" operation that clears whichever stop the customer can
see; a lost card's bar should only go with the SIM swap, or a found-again thief's card works again.
"""

from carriersim.simulator.errors import SimError
from carriersim.simulator.model import Cause, Reason, reason_names
from carriersim.simulator.rules.billing import require_not_cancelled

from . import Mutant


def resume(engine, card):
    require_not_cancelled(card)
    lifts = card.reasons & (Reason.MANUAL | Reason.LOST)  # the bug: lost counted as a customer stop
    if not lifts:
        raise SimError("not_manually_suspended", f"Card {card.iccid} is not manually stopped; "
                       "a manual resume only lifts a manual stop.", reasons=reason_names(card.reasons))
    engine.change(card, Cause.API, remove=lifts)


MUTANT = Mutant(
    name="lost_card_resumable",
    rule="LOST-1",
    description="A card reported lost is resumed by a manual resume request, without a swap.",
    patches=(("carriersim.simulator.rules.manual_stop.resume", resume),),
)
