"""BILL-2 the cycle start: one job per carrier (the whole cohort), not one per card.

At each cycle start: pending plan changes take effect (PLAN-1), cards in retention pay their monthly fee (RET-1),
terms ending now renew or expire (EXP-1), and monthly usage resets — lazily, see ``rules.quota`` — which lets
cards stopped for quota resume (QUOTA-2, POOL-1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Due, JobKind
from ..timeutil import add_cycles
from .plan_change import apply_pending
from .quota import lift_at_cycle_start
from .retention import at_term_end, charge_fees

if TYPE_CHECKING:
    from ..engine import Engine


def on_cycle_start(engine: "Engine", due: Due) -> None:
    for carrier in due.targets:
        cs = engine.carriers[carrier]
        p = cs.profile
        cs.cycle += 1
        cs.cycle_start = engine.now
        cs.next_cycle = add_cycles(engine.now, 1, p.tz, p.billing_cycle_day)
        engine.scheduler.at(cs.next_cycle, JobKind.CYCLE_START, carrier)
        apply_pending(engine, cs)  # PLAN-1
        charge_fees(engine, cs)  # RET-1
        at_term_end(engine, cs)  # EXP-1, renewals
        lift_at_cycle_start(engine, cs)  # QUOTA-2, POOL-1
