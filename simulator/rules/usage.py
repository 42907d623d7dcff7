"""A usage report from the network: where the region (REG-1), device (BIND-1) and quota rules
(QUOTA-1/5, POOL-1, ALERT-1) meet. Usage is a world event, not a platform request: it is never "refused" with an
error; the result says how much traffic the network carried and why the rest was not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Card, Cause, Reason, State, plan_of
from . import quota
from .device_binding import check_usage_device
from .quota import consume
from .regions import check_usage_region

if TYPE_CHECKING:
    from ..engine import Engine


def report(engine: "Engine", card: Card, kb: int, region: str | None, imei: str | None) -> tuple[int, str | None]:
    if card.phase not in (State.ACTIVE, State.TESTING):
        return 0, "not_in_service"
    if region is not None and not check_usage_region(engine, card, region):
        return 0, "region"
    if imei is not None and not check_usage_device(engine, card, imei):
        return 0, "device"
    if card.reasons:  # LIFE-3: any reason stops traffic, on the test allowance too (REG-1, BIND-1)
        return 0, ("suspended" if kb else None)
    if not kb:
        return 0, None
    if card.phase == State.TESTING:
        accepted = min(kb, max(card.profile.test_quota_kb - card.test_used_kb, 0))
        card.test_used_kb += accepted
        if accepted:
            card.last_used_at = engine.now
        return accepted, (None if accepted == kb else "test_quota")
    accepted = consume(engine, card, kb)
    if accepted:
        card.last_used_at = engine.now
    return accepted, (None if accepted == kb else "quota")


def report_many(engine: "Engine", rows: list[tuple[Card, int, str | None, str | None]]) \
        -> tuple[int, int, dict[str, int]]:
    """``report`` for a batch, in order (``Simulation.report_usage_many``); returns the KB accepted, the KB refused
    and how many reports had some refused for each reason. The common report — an active card with
    no reason, outside any pool, no region or device given — is ``quota.consume`` done inline (the lazy reset, the
    quota, QUOTA-1's stop, QUOTA-5's overage, ALERT-1's alerts, through the same rule functions when they have
    something to do); every other report goes through ``report``."""
    carriers, now = engine.carriers, engine.now
    active, stop = State.ACTIVE, Reason.QUOTA
    total = refused_kb = 0
    refused: dict[str, int] = {}
    for card, kb, region, imei in rows:
        if region is not None or imei is not None or card.pool is not None or card.phase != active \
                or card.reasons or not kb:
            accepted, why = report(engine, card, kb, region, imei)
            total += accepted
            if accepted != kb:
                refused_kb += kb - accepted
                refused[why or "quota"] = refused.get(why or "quota", 0) + 1  # (refused: always a why)
            continue
        cycle = carriers[card.profile.id].cycle
        if card.cycle != cycle:  # quota.roll, inline
            card.cycle, card.cycle_usage_kb = cycle, 0
        plan = plan_of(card)
        period = -card.term_start - 1 if plan.quota_scope == "term" and card.term_start is not None else cycle
        if card.quota_period != period:
            card.quota_period, card.quota_used_kb, card.addon_kb = period, 0, 0
            card.alerts_sent, card.overage_mb, card.pool_over_kb = 0, 0, 0
        limit = plan.quota_kb + card.addon_kb
        used = card.quota_used_kb
        accepted = min(kb, max(limit - used, 0)) if card.auto_suspend else kb
        used += accepted
        card.quota_used_kb = used
        card.cycle_usage_kb += accepted
        thresholds = card.profile.alert_thresholds
        if thresholds and used * 100 >= limit * thresholds[0]:
            quota._alerts(engine, card, used, limit)  # ALERT-1
        if card.auto_suspend:
            if used >= limit:
                engine.change(card, Cause.USAGE, add=stop, detail={"used_kb": used, "quota_kb": limit})  # QUOTA-1
        elif used > limit:
            quota._bill_overage(engine, card, used - limit)  # QUOTA-5
        if accepted:
            card.last_used_at = now
        total += accepted
        if accepted != kb:
            refused_kb += kb - accepted
            refused["quota"] = refused.get("quota", 0) + 1
    return total, refused_kb, refused
