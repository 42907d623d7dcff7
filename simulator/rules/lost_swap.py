"""LOST-1 lost cards (挂失) and SWAP-1 replacement (换卡, e.g. a POS terminal's card)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import JobKind
from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State, plan_of
from .billing import require_not_cancelled
from .lifecycle import cancel, new_card

if TYPE_CHECKING:
    from ..engine import Engine

# What a replacement card does not inherit: the old card's loss, its device mismatch, a maintenance stop.
NOT_CARRIED = Reason.LOST | Reason.DEVICE | Reason.MAINTENANCE


def report_lost(engine: "Engine", card: Card) -> None:
    """LOST-1: the card is barred for ``lost``; nothing but a replacement lifts it."""
    require_not_cancelled(card)
    if card.phase in (State.PENDING_CANCEL, State.INVENTORY):
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label}.", state=card.state.label)
    if card.reasons & Reason.LOST:
        raise SimError("already_lost", f"Card {card.iccid} is already reported lost.")
    engine.change(card, Cause.API, add=Reason.LOST)


def swap(engine: "Engine", old: Card, iccid: str | None) -> Card:
    """SWAP-1: a new ICCID takes over the number, plan and balance; the old ICCID is cancelled; the new card must
    then be activated (binding its device) before it carries traffic."""
    require_not_cancelled(old)
    if old.phase in (State.PENDING_CANCEL, State.INVENTORY):
        raise SimError("invalid_state", f"Card {old.iccid} is {old.state.label} and cannot be replaced.",
                       state=old.state.label)
    if iccid is not None:
        stock = engine.by_iccid.get(iccid)
        if stock is None or stock.phase != State.INVENTORY or stock.profile.id != old.profile.id:
            raise SimError("card_not_in_stock", f"ICCID {iccid} is not an unsold {old.profile.id} card in stock.")
        new = stock
    else:
        new = new_card(engine, old.profile.id, old.account_id, old.plan)
    new.account_id, new.msisdn, new.plan = old.account_id, old.msisdn, old.plan
    for attr in ("pending_plan", "pending_at", "term_start", "term_end", "prepaid_terms", "auto_suspend",
                 "auto_renew", "bind_device", "device_changes", "cycle", "cycle_usage_kb", "quota_period", "quota_used_kb",
                 "addon_kb", "alerts_sent", "overage_mb", "pool_over_kb", "verified", "owner_name", "owner_id",
                 "opened_at", "activated_at", "last_used_at", "expired_at", "retention_deadline", "kyc_deadline"):
        setattr(new, attr, getattr(old, attr))
    new.replaces, old.replaced_by = old.iccid, new.iccid
    assert old.account_id is not None  # a card that is swapped was sold
    account = engine.accounts[old.account_id]
    account.cards.append(new)
    cs = engine.carriers[old.profile.id]
    if old.pending_plan is not None:
        cs.pending[new.idx] = new
    if new.term_end is not None:
        engine.schedule_term_end(new)
    if old.pool is not None:
        pool = old.pool
        pool.members[pool.members.index(old)] = new
        new.pool, old.pool = pool, None
    engine.emit(new, Kind.CARD_OPENED, Cause.API, detail={"account": old.account_id, "plan": plan_of(old).code,
                                                          "replaces": old.iccid})
    engine.change(new, Cause.API, phase=State.READY, add=old.reasons & ~NOT_CARRIED,
                  detail={"replaces": old.iccid})
    if old.balance:
        amount = old.balance
        engine.post(old, Kind.TRANSFER_OUT, -amount, Cause.API, "swap", to=new.iccid)
        engine.post(new, Kind.TRANSFER_IN, amount, Cause.API, "swap", **{"from": old.iccid})
    engine.emit(old, Kind.CARD_REPLACED, Cause.API, detail={"by": new.iccid})
    cancel(engine, old, Cause.API, "swapped")
    # the jobs that watched the old card now watch the new one
    if new.retention_deadline is not None and new.reasons & Reason.EXPIRED:
        engine.scheduler.at(new.retention_deadline, JobKind.RETENTION_LIMIT, new)
    if new.kyc_deadline is not None and not new.verified and new.kyc_deadline > engine.now:
        engine.scheduler.at(new.kyc_deadline, JobKind.KYC_DEADLINE, new)
    if new.profile.cancellation.unused_cancel_months:
        engine.scheduler.at(engine.now, JobKind.UNUSED_CHECK, new)
    return new
