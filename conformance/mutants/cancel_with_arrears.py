"""CAN-1 broken: a card whose balance is below zero can be cancelled; the arrears are never paid.

Realistic because the check is easily written on the ``arrears`` suspension reason alone, or left to billing: a card
that is cancelled with a negative balance walks away from its debt (欠费销户).
"""

from . import Mutant


def refusal_reasons(card):
    why = []
    # the bug: no "arrears" check
    if card.imei is not None:
        why.append("device_bound")
    if card.auto_renew:
        why.append("auto_renew_on")
    return why


MUTANT = Mutant(
    name="cancel_with_arrears",
    rule="CAN-1",
    description="A cancellation request is accepted from a card in arrears.",
    patches=(("simulator.rules.cancellation.refusal_reasons", refusal_reasons),),
)
