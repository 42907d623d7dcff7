"""CAN-1 broken: a card still bound to a device can be cancelled.

Realistic because the binding is device-side state that the cancellation flow does not own: checking the balance
and auto-renewal is obvious, remembering that a bound card must be unbound first (机卡解绑) is not.
"""

from carriersim.simulator.rules import cancellation

from . import Mutant, forgetting

MUTANT = Mutant(
    name="cancel_while_device_bound",
    rule="CAN-1",
    description="A cancellation request is accepted while the card is still bound to a device.",
    patches=(("carriersim.simulator.rules.cancellation.refusal_reasons",
              forgetting(cancellation.refusal_reasons, "device_bound")),),
)
