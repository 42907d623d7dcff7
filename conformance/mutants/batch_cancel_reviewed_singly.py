"""CAN-2 broken: a batch cancellation of 50 cards or more is reviewed like single requests, not within 1 working day.

Realistic because a batch is easily implemented as a loop of single cancellations, losing the batch's size and so
the carrier's faster batch review (批量销户 1 个工作日).
"""

from carriersim.simulator.rules import cancellation

from . import Mutant

_submit = cancellation.submit


def submit(engine, cards, batch_size):
    return [_submit(engine, [card], 1)[0] for card in cards]  # the bug: each card as its own request


MUTANT = Mutant(
    name="batch_cancel_reviewed_singly",
    rule="CAN-2",
    description="The cards of a batch cancellation of 50 or more get the standard review time, not the batch's "
                "1 working day.",
    patches=(("carriersim.simulator.rules.cancellation.submit", submit),),
)
