"""MAINT-1 broken: when a maintenance window ends by itself, the API reopens but the cards stopped for it stay stopped.

Realistic because "the window is over" (a flag or an end time) and "the cards stopped for it recover" are two things;
a window that lapses by time only clears the flag, and recovery is left to an operator's explicit end.
"""

from . import Mutant


def on_end(engine, due):
    for carrier in due.targets:
        cs = engine.carriers[carrier]
        if cs.maintenance_until == due.when:
            cs.maintenance_until = None  # the bug: the cards stopped for maintenance are not resumed


MUTANT = Mutant(
    name="maintenance_not_recovering",
    rule="MAINT-1",
    description="At the end of a maintenance window the carrier answers again, but cards stopped for maintenance "
                "stay suspended.",
    patches=(("carriersim.simulator.rules.maintenance.on_end", on_end),),
)
