"""LIFE-3 broken: clearing one suspension reason resumes the card although others remain.

Realistic because a suspension is often modelled as one status plus "the" reason: lifting any reason (paying the
arrears, an add-on, an appeal) sets the card back to normal and forgets the rest.
"""

from carriersim.simulator.engine import Engine

from . import Mutant

_change = Engine.change


def change(self, card, cause, *, add=0, remove=0, phase=None, detail=None):
    if remove & card.reasons:
        remove = card.reasons | remove  # the bug: removing one reason clears them all
    return _change(self, card, cause, add=add, remove=remove, phase=phase, detail=detail)


MUTANT = Mutant(
    name="reasons_not_stacked",
    rule="LIFE-3",
    description="Removing one suspension reason removes every reason, so the card resumes although another "
                "(e.g. quota while paying arrears) remains.",
    patches=(("carriersim.simulator.engine.Engine.change", change),),
)
