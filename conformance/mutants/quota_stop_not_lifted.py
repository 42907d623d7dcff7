"""QUOTA-2 broken: a card stopped for ``quota`` stays stopped at the next cycle start; it needs a human to resume.

Realistic because the quota stop is easily treated like any other suspension, lifted only by an operation (an
add-on, a top-up), and the cycle start only resets the counters — "次月会自动恢复" forgotten. Shared pools (POOL-1)
and prepaid next terms (QUOTA-4) still resume: only the plain card's monthly resume is lost.
"""

from carriersim.simulator.model import Cause, Reason
from carriersim.simulator.rules import quota

from . import Mutant


def lift_at_cycle_start(engine, cs):
    for card in list(cs.quota_stopped.values()):
        prepaid = quota.remaining_kb(engine, card) <= 0 and quota._prepaid_term_due(engine, card)
        if prepaid:
            quota._start_prepaid_term(engine, card)  # QUOTA-4 kept
        if card.pool is None and not prepaid:
            continue  # the bug: a plain card's quota stop is never lifted by the clock
        if quota.remaining_kb(engine, card) > 0:
            engine.change(card, Cause.CLOCK, remove=Reason.QUOTA)


MUTANT = Mutant(
    name="quota_stop_not_lifted",
    rule="QUOTA-2",
    description="The cycle start resets usage but does not resume a card stopped for quota; it stays suspended.",
    patches=(("carriersim.simulator.rules.cycle.lift_at_cycle_start", lift_at_cycle_start),),
)
