"""CAN-1 broken: a card whose balance is below zero can be cancelled; the arrears are never paid.

Realistic because the check is easily written on the ``arrears`` suspension reason alone, or left to billing: a card
that is cancelled with a negative balance walks away from its debt (欠费销户).
"""

from carriersim.simulator.rules import cancellation

from . import Mutant, forgetting

MUTANT = Mutant(
    name="cancel_with_arrears",
    rule="CAN-1",
    description="A cancellation request is accepted from a card in arrears.",
    patches=(("carriersim.simulator.rules.cancellation.refusal_reasons",
              forgetting(cancellation.refusal_reasons, "arrears")),),
)
