"""POOL-1 broken: when a shared pool is used up, only the card whose traffic used it up stops; the others go on.

Realistic because the quota stop is written per card (QUOTA-1) and reused for pools: the card that hits the limit
stops, while its pool-mates keep drawing on an exhausted pool until each of them hits it in turn.
"""

from carriersim.simulator.model import Cause, Reason, State
from carriersim.simulator.rules import quota

from . import Mutant


def _consume_pool(engine, card, kb):
    pool = card.pool
    q = quota.pool_quota_kb(pool)
    accepted = min(kb, max(q - pool.used_kb, 0)) if card.auto_suspend else kb
    before = pool.used_kb
    pool.used_kb += accepted
    card.cycle_usage_kb += accepted
    card.quota_used_kb += accepted
    quota._pool_alerts(engine, pool, q, card)
    if not card.auto_suspend:
        over_now = max(pool.used_kb - q, 0) - max(before - q, 0)
        if over_now > 0:
            card.pool_over_kb += over_now
            quota._bill_overage(engine, card, card.pool_over_kb)
    if pool.used_kb >= q:
        pool.exhausted = True
        # the bug: only this card stops, not every auto-suspend member of the pool
        if card.auto_suspend and card.phase == State.ACTIVE and not card.reasons & Reason.QUOTA:
            engine.change(card, Cause.USAGE, add=Reason.QUOTA,
                          detail={"pool": pool.id, "used_kb": pool.used_kb, "quota_kb": q})
    return accepted


MUTANT = Mutant(
    name="pool_stops_only_user",
    rule="POOL-1",
    description="A used-up pool stops only the member whose traffic used it up; the other members stay active.",
    patches=(("carriersim.simulator.rules.quota._consume_pool", _consume_pool),),
)
