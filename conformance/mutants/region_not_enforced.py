"""REG-1 broken: usage from a restricted region is carried like any other; the card is never stopped for ``region``.

Realistic because the region check needs the profile's restricted list and the usage record's location, and a
platform that only meters volume simply never looks at where the traffic came from.
"""

from . import Mutant


def check_usage_region(engine, card, region):
    card.last_region = region
    return True


MUTANT = Mutant(
    name="region_not_enforced",
    rule="REG-1",
    description="Traffic from a restricted region (Xinjiang, Tibet …) is accepted and the card is not suspended.",
    patches=(("carriersim.simulator.rules.usage.check_usage_region", check_usage_region),),
)
