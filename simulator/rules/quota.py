"""Data quota: QUOTA-1..5, POOL-1 (shared pools) and ALERT-1 (usage alerts).

Counters are per *quota period*: the billing cycle for plans whose quota is monthly, the term for plans whose quota
covers the whole term (BILL-3). They reset lazily — a card's counters carry the period they belong to and read as
zero once the period has moved on — so a cycle start costs nothing for cards that were not stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Pool, Reason, State, plan_of
from ..profile import KB_PER_MB, AddOn
from .billing import require_funds, require_not_cancelled

if TYPE_CHECKING:
    from ..engine import CarrierState, Engine


def period_of(card: Card, cs: "CarrierState") -> int:
    """The quota period a card is in: the cycle index (monthly quota) or the term's start (term quota)."""
    if card.plan is not None and plan_of(card).quota_scope == "term" and card.term_start is not None:
        return -card.term_start - 1  # negative: never equal to a cycle index
    return cs.cycle


def roll(engine: "Engine", card: Card) -> None:
    """Bring a card's counters into the current cycle and quota period (the lazy reset)."""
    cs = engine.carriers[card.profile.id]
    cycle = cs.cycle
    if card.cycle != cycle:
        card.cycle, card.cycle_usage_kb = cycle, 0
    plan = plan_of(card)
    period = (-card.term_start - 1 if plan is not None and plan.quota_scope == "term" and card.term_start is not None
              else cycle)  # period_of, inline: this runs for every usage report
    if card.quota_period != period:
        card.quota_period, card.quota_used_kb, card.addon_kb = period, 0, 0
        card.alerts_sent, card.overage_mb, card.pool_over_kb = 0, 0, 0
    pool = card.pool
    if pool is not None and pool.period != cs.cycle:
        pool.period, pool.used_kb, pool.addon_kb, pool.alerts_sent, pool.exhausted = cs.cycle, 0, 0, 0, False


def quota_kb(card: Card) -> int:
    return plan_of(card).quota_kb + card.addon_kb


def pool_quota_kb(pool: Pool) -> int:
    """POOL-1: a pool's quota is the sum of its members' monthly quotas plus the add-ons bought for it."""
    return sum(plan_of(m).quota_kb for m in pool.members if m.phase != State.CANCELLED) + pool.addon_kb


def remaining_kb(engine: "Engine", card: Card) -> int:
    roll(engine, card)
    if card.pool is not None:
        return max(pool_quota_kb(card.pool) - card.pool.used_kb, 0)
    return max(quota_kb(card) - card.quota_used_kb, 0)


def consume(engine: "Engine", card: Card, kb: int) -> int:
    """Carry ``kb`` of traffic for an in-service card; return how much the network accepted.

    QUOTA-1: with auto-suspend, usage stops at the quota and the card is suspended for ``quota``; nothing past it is
    accepted or charged. QUOTA-5: without it, usage past the quota is billed per started MB at the plan's overage
    rate, which may drive the balance below zero (BILL-4). POOL-1: pool members draw on the pool's quota.
    """
    roll(engine, card)
    if card.pool is not None:
        return _consume_pool(engine, card, kb)
    quota = quota_kb(card)
    used = card.quota_used_kb
    accepted = min(kb, max(quota - used, 0)) if card.auto_suspend else kb
    card.quota_used_kb = used + accepted
    card.cycle_usage_kb += accepted
    _alerts(engine, card, card.quota_used_kb, quota)  # ALERT-1
    if card.auto_suspend:
        if card.quota_used_kb >= quota:
            engine.change(card, Cause.USAGE, add=Reason.QUOTA,
                          detail={"used_kb": card.quota_used_kb, "quota_kb": quota})  # QUOTA-1
    else:
        _bill_overage(engine, card, card.quota_used_kb - quota)  # QUOTA-5
    return accepted


def _bill_overage(engine: "Engine", card: Card, over_kb: int) -> None:
    """QUOTA-5: charge every newly started MB past the quota at the plan's overage rate."""
    if over_kb <= 0:
        return
    started_mb = -(-over_kb // KB_PER_MB)
    new_mb = started_mb - card.overage_mb
    if new_mb > 0:
        card.overage_mb = started_mb
        engine.post(card, Kind.CHARGE, -new_mb * plan_of(card).overage_per_mb, Cause.USAGE, "overage", mb=new_mb)


def _consume_pool(engine: "Engine", card: Card, kb: int) -> int:
    pool = card.pool
    assert pool is not None
    quota = pool_quota_kb(pool)
    accepted = min(kb, max(quota - pool.used_kb, 0)) if card.auto_suspend else kb
    before = pool.used_kb
    pool.used_kb += accepted
    card.cycle_usage_kb += accepted
    card.quota_used_kb += accepted
    _pool_alerts(engine, pool, quota, card)
    if not card.auto_suspend:
        # the part of this member's traffic beyond the pool's quota is its own overage
        over_now = max(pool.used_kb - quota, 0) - max(before - quota, 0)
        if over_now > 0:
            card.pool_over_kb += over_now
            _bill_overage(engine, card, card.pool_over_kb)
    if pool.used_kb >= quota:
        # POOL-1: when the pool is used up every auto-suspend member stops; a member activated since then stops
        # when it is refused traffic (QUOTA-1), not left active with its usage refused
        stop = pool.members if not pool.exhausted else (card,)
        pool.exhausted = True
        for member in stop:
            if member.auto_suspend and member.phase == State.ACTIVE and not member.reasons & Reason.QUOTA:
                engine.change(member, Cause.USAGE, add=Reason.QUOTA,
                              detail={"pool": pool.id, "used_kb": pool.used_kb, "quota_kb": quota})
    return accepted


def _alerts(engine: "Engine", card: Card, used: int, quota: int) -> None:
    """ALERT-1: one event per configured threshold crossed, once per threshold per period."""
    for i, pct in enumerate(card.profile.alert_thresholds):  # ascending: past the first not crossed, none is
        if used * 100 < quota * pct:
            break
        bit = 1 << i
        if not card.alerts_sent & bit:
            card.alerts_sent |= bit
            engine.emit(card, Kind.ALERT, Cause.USAGE,
                        detail={"threshold": pct, "used_kb": used, "quota_kb": quota, "scope": "card"})


def _pool_alerts(engine: "Engine", pool: Pool, quota: int, by: Card) -> None:
    for i, pct in enumerate(by.profile.alert_thresholds):
        bit = 1 << i
        if not pool.alerts_sent & bit and pool.used_kb * 100 >= quota * pct:
            pool.alerts_sent |= bit
            seq = engine.emit(None, Kind.ALERT, Cause.USAGE,
                              detail={"threshold": pct, "used_kb": pool.used_kb, "quota_kb": quota,
                                      "scope": "pool", "pool": pool.id, "by": by.iccid})
            pool.events.append(seq)


def buy_addon(engine: "Engine", card: Card, addon: AddOn) -> None:
    """QUOTA-3: an add-on pack lifts ``quota`` at once (for a pool member, it tops up the whole pool and lifts
    every member). BILL-1: it must be paid from the balance, so a card in arrears cannot buy one."""
    require_not_cancelled(card)
    if card.phase != State.ACTIVE or card.reasons & Reason.EXPIRED:
        raise SimError("addon_not_allowed", f"Card {card.iccid} is {card.state.label}; add-ons are sold to active "
                       "cards with a valid plan (renew an expired plan first).", state=card.state.label)
    require_funds(card, addon.price, f"Add-on {addon.code}")
    roll(engine, card)
    engine.post(card, Kind.CHARGE, -addon.price, Cause.API, addon.code)
    if card.pool is not None:
        card.pool.addon_kb += addon.quota_kb
        _pool_room(engine, card.pool, {"addon": addon.code, "pool": card.pool.id})
        return
    card.addon_kb += addon.quota_kb
    if card.reasons & Reason.QUOTA and card.quota_used_kb < quota_kb(card):
        engine.change(card, Cause.API, remove=Reason.QUOTA, detail={"addon": addon.code})


def _pool_room(engine: "Engine", pool: Pool, detail: dict) -> None:
    """POOL-1: the pool's quota grew (an add-on, a new member's quota): if it has room again, every member stopped
    for ``quota`` resumes at once."""
    if pool.used_kb < pool_quota_kb(pool):
        pool.exhausted = False
        for member in pool.members:
            if member.reasons & Reason.QUOTA:
                engine.change(member, Cause.API, remove=Reason.QUOTA, detail=detail)


def lift_at_cycle_start(engine: "Engine", cs: "CarrierState") -> None:
    """QUOTA-2: a card stopped for ``quota`` resumes by itself at the next cycle start (for a plan whose quota
    covers the whole term: once a new term has started). POOL-1: pool members resume with the pool's new cycle.
    The cohort's lifts are one bulk change; a card starting a prepaid term (QUOTA-4) goes on its own."""
    order = engine.cohort()
    lifted, keys = [], []
    for pos, card in enumerate(list(cs.quota_stopped.values())):
        if remaining_kb(engine, card) <= 0 and _prepaid_term_due(engine, card):
            before = len(engine.events)
            _start_prepaid_term(engine, card)  # QUOTA-4
            order.slow(pos * 64, before)
        if remaining_kb(engine, card) > 0:
            lifted.append(card)
            keys.append(pos * 64 + 8)
    engine.change_many(lifted, Cause.CLOCK, order, np.array(keys, dtype=np.int64), remove=Reason.QUOTA)
    order.finish()


def _prepaid_term_due(engine: "Engine", card: Card) -> bool:
    """QUOTA-4: a card whose whole-term quota is used up and whose next term is paid in advance (``renew``)
    resumes at the next cycle start, not at the end of its current term: the prepaid term starts now."""
    return (card.prepaid_terms > 0 and card.pool is None and plan_of(card).quota_scope == "term"
            and card.phase == State.ACTIVE and not card.reasons & Reason.EXPIRED
            and card.term_end is not None and card.term_end > engine.now)


def _start_prepaid_term(engine: "Engine", card: Card) -> None:
    card.prepaid_terms -= 1
    card.term_start = engine.now
    card.term_end = engine.term_end_from(card, plan_of(card).term_months)
    engine.schedule_term_end(card)
    engine.emit(card, Kind.RENEWED, Cause.CLOCK, tag=plan_of(card).code, detail={"prepaid": True, "why": "quota"})


def create_pool(engine: "Engine", account_id: str, carrier: str, name: str) -> Pool:
    cs = engine.carrier(carrier)
    pool = Pool(f"pool-{len(engine.pools) + 1:04d}", account_id, carrier, name)
    engine.pools[pool.id] = pool
    cs.pools.append(pool)
    return pool


def add_to_pool(engine: "Engine", pool: Pool, card: Card) -> None:
    """POOL-1: only cards of the pool's carrier, with a monthly quota, not yet in a pool."""
    require_not_cancelled(card)
    if card.profile.id != pool.carrier:
        raise SimError("pool_mismatch", f"Pool {pool.id} is a {pool.carrier} pool; card {card.iccid} is "
                       f"{card.profile.id}.")
    if card.pool is not None:
        raise SimError("already_in_pool", f"Card {card.iccid} is already in pool {card.pool.id}.")
    if plan_of(card).quota_scope != "month":
        raise SimError("pool_mismatch", f"Plan {plan_of(card).code} has a quota per term; pools share monthly quotas.")
    roll(engine, card)
    card.pool = pool
    roll(engine, card)  # the pool's counters too
    # QUOTA-5: ``overage_mb`` counts the MB already billed this period, its own overage included; the pool's
    # overage starts on top of them, or the first MB past the pool's quota would be taken as already paid
    card.pool_over_kb = card.overage_mb * KB_PER_MB
    pool.members.append(card)
    engine.emit(card, Kind.POOL_JOINED, Cause.API, detail={"pool": pool.id})
    if pool.exhausted:  # the member's quota joins the pool's: stopped members resume if there is room now
        _pool_room(engine, pool, {"joined": card.iccid, "pool": pool.id})
