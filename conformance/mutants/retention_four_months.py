"""RET-2 broken: a number is kept in retention 4 months, whatever the carrier's profile says.

Realistic because retention limits are easily hard-coded from one carrier's contract (or an off-by-one: "more than 3
months" read as "cancel in the 4th month"), instead of read from the profile.
"""

from __future__ import annotations

from carriersim.simulator.rules import retention

from . import Mutant

RETENTION_MONTHS = 4
_expire_many = retention.expire_many  # the real cohort expiry, captured before any patch


def expire_many(engine, cards, whys, order, keys, *, months=None):
    # the bug: the months are a constant, not the profile's retention months
    return _expire_many(engine, cards, whys, order, keys, months=RETENTION_MONTHS)


MUTANT = Mutant(
    name="retention_four_months",
    rule="RET-2",
    description="An expired card is kept in retention for a hard-coded 4 months instead of the profile's months "
                "(China Mobile: 3), so it is still renewable after the limit.",
    patches=(("carriersim.simulator.rules.retention.expire_many", expire_many),),
)
