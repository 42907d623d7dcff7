"""QUOTA-5 broken: overage is billed per whole MB used past the quota (rounded down), not per started MB.

Realistic because integer division is the natural way to turn KB into MB; carriers bill every started MB, so a
card 0.5 MB over pays nothing here and 1.5 MB over pays for one MB.
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause
from carriersim.simulator.profile import KB_PER_MB

from . import Mutant


def _bill_overage(engine, card, over_kb):
    if over_kb <= 0:
        return
    whole_mb = over_kb // KB_PER_MB  # the bug: floor, where the rule bills every started MB
    new_mb = whole_mb - card.overage_mb
    if new_mb > 0:
        card.overage_mb = whole_mb
        engine.post(card, Kind.CHARGE, -new_mb * card.plan.overage_per_mb, Cause.USAGE, "overage", mb=new_mb)


MUTANT = Mutant(
    name="overage_rounded_down",
    rule="QUOTA-5",
    description="Usage past the quota without auto-suspend is billed per whole MB (rounded down), so a started MB "
                "is free.",
    patches=(("carriersim.simulator.rules.quota._bill_overage", _bill_overage),),
)
