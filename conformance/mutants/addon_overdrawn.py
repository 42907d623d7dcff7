"""BILL-1 broken: an add-on pack is sold even when the balance does not cover it; the balance goes below zero.

Realistic because a prepaid check made for plans is easily missing for the smaller orders (add-ons are "just
charged" to the balance, postpaid style).
"""

from . import Mutant


def require_funds(card, price, what):
    return None  # the bug: no balance check


MUTANT = Mutant(
    name="addon_overdrawn",
    rule="BILL-1",
    description="An add-on order with too little balance is accepted and charged, taking the balance negative.",
    patches=(("carriersim.simulator.rules.quota.require_funds", require_funds),),
)
