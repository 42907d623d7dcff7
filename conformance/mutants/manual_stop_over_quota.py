"""MAN-1 broken: a manual stop is accepted while the card is over quota.

Realistic because the manual-stop preconditions are a list of checks and the quota one is easy to leave out: the
card is already stopped, so "stopping it again" looks harmless — but it changes how it resumes.
"""

from carriersim.simulator.rules import manual_stop

from . import Mutant, forgetting

MUTANT = Mutant(
    name="manual_stop_over_quota",
    rule="MAN-1",
    description="A manual stop is accepted on a card suspended for quota instead of being refused.",
    patches=(("carriersim.simulator.rules.manual_stop.refusal_reasons", forgetting(manual_stop.refusal_reasons, "quota")),),
)
