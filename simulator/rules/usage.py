"""A usage report from the network: where the region (REG-1), device (BIND-1) and quota rules
(QUOTA-1/5, POOL-1, ALERT-1) meet. Usage is a world event, not a platform request: it is never "refused" with an
error; the result says how much traffic the network carried and why the rest was not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Card, State
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
