"""RET-1 broken: the retention fee is charged once, when the card enters retention, not every month.

Realistic because the fee is naturally charged at the event that starts retention, and the monthly charge needs a
cycle-start pass over every retained card that is easy to forget (停机保号 then costs one month's fee, whatever
its length).
"""

from . import Mutant


def charge_fees(engine, cs):
    return None  # the bug: no monthly retention fee at the cycle start


MUTANT = Mutant(
    name="retention_fee_once",
    rule="RET-1",
    description="A card in retention pays the retention fee once at expiry; later months are not charged.",
    patches=(("carriersim.simulator.rules.cycle.charge_fees", charge_fees),),
)
