"""RET-2 broken: a number is kept in retention 4 months, whatever the carrier's profile says.

Realistic because retention limits are easily hard-coded from one carrier's contract (or an off-by-one: "more than 3
months" read as "cancel in the 4th month"), instead of read from the profile.
"""

from carriersim.simulator.clock import JobKind
from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause, Reason
from carriersim.simulator.rules import retention

from . import Mutant

RETENTION_MONTHS = 4


def expire(engine, card, why):
    card.expired_at = engine.now
    card.retention_deadline = engine.months_after(engine.now, RETENTION_MONTHS, card)
    engine.emit(card, Kind.EXPIRED, Cause.CLOCK, tag=card.plan.code, detail={"why": why})
    engine.change(card, Cause.CLOCK, add=Reason.EXPIRED,
                  detail={"why": why, "retention_until": engine.iso(card.retention_deadline)})
    retention.charge_retention_fee(engine, card)
    engine.scheduler.at(card.retention_deadline, JobKind.RETENTION_LIMIT, card)


MUTANT = Mutant(
    name="retention_four_months",
    rule="RET-2",
    description="An expired card is kept in retention for a hard-coded 4 months instead of the profile's months "
                "(China Mobile: 3), so it is still renewable after the limit.",
    patches=(("carriersim.simulator.rules.retention.expire", expire),),
)
