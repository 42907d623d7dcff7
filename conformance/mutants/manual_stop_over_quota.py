"""MAN-1 broken: a manual stop is accepted while the card is over quota.

Realistic because the manual-stop preconditions are a list of checks and the quota one is easy to leave out: the
card is already stopped, so "stopping it again" looks harmless — but it changes how it resumes.
"""

from simulator.errors import SimError
from simulator.model import Cause, Reason, State
from simulator.rules.billing import require_not_cancelled

from . import Mutant


def suspend(engine, card):
    require_not_cancelled(card)
    if card.phase != State.ACTIVE:
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label}; only an activated card can be "
                       "stopped.", state=card.state.label)
    if card.reasons & Reason.MANUAL:
        raise SimError("already_suspended", f"Card {card.iccid} is already manually stopped.")
    why = [name for name, blocked in (("expired", card.reasons & Reason.EXPIRED),
                                      ("arrears", card.balance < 0 or card.reasons & Reason.ARREARS)) if blocked]
    # the bug: no "quota" check
    if why:
        words = {"expired": "its plan has expired", "arrears": "it has arrears"}
        raise SimError("manual_suspend_not_allowed", f"Card {card.iccid} cannot be stopped manually because "
                       f"{' and '.join(words[w] for w in why)}.", reasons=why)
    engine.change(card, Cause.API, add=Reason.MANUAL)


MUTANT = Mutant(
    name="manual_stop_over_quota",
    rule="MAN-1",
    description="A manual stop is accepted on a card suspended for quota instead of being refused.",
    patches=(("simulator.rules.manual_stop.suspend", suspend),),
)
