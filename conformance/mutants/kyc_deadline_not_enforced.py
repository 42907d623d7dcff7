"""KYC-1 broken: a card still not real-name verified after the grace period keeps working.

Realistic because the grace period is enforced by a scheduled job at the deadline; a job that is registered but
checks the wrong thing (or never runs) silently lets unverified cards live on (未实名 never enforced).
"""

from . import Mutant


def on_deadline(engine, due):
    return None  # the bug: the deadline passes and nothing happens


MUTANT = Mutant(
    name="kyc_deadline_not_enforced",
    rule="KYC-1",
    description="The real-name grace deadline passes without suspending an unverified card for unverified.",
    patches=(("carriersim.simulator.rules.real_name.on_deadline", on_deadline),),
)
