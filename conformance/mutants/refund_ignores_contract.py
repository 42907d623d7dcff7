"""REF-1 broken: unused months are refunded on request even where the carrier's contract does not refund them.

Realistic because refund rules differ per carrier (China Unicom's contract has no unused-month refund) and a
platform written against one carrier's contract offers the same refund everywhere.
"""

import dataclasses

from carriersim.simulator.rules import refunds

from . import Mutant

_unused_months = refunds.unused_months  # the real refund, captured before any patch


def unused_months(engine, card):
    """The real refund, run as if every carrier's contract allowed it (the contract check is forgotten)."""
    contract = card.profile
    card.profile = dataclasses.replace(contract, refund_unused_months=True)
    try:
        return _unused_months(engine, card)
    finally:
        card.profile = contract


MUTANT = Mutant(
    name="refund_ignores_contract",
    rule="REF-1",
    description="An unused-months refund is granted on a carrier whose contract does not allow it (China Unicom).",
    patches=(("carriersim.simulator.rules.refunds.unused_months", unused_months),),
)
