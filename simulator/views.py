"""Observations: cards, events and ledgers as plain JSON-ready dicts.

What a platform, a scenario or a report reads. Kept apart from the engine so the API facades (native REST today,
carrier dialects later) shape their own responses from the same facts. Money is CNY text ("5.00"), data is MB with
KB precision, times are ISO-8601 in the carrier's zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import CHANGE_ADDED, CHANGE_REMOVED, MONEY_KINDS, EventRecord, Kind
from .model import Card, Reason, State, reason_names
from .money import to_cny
from .profile import KB_PER_MB, Plan
from .rules.quota import period_of, pool_quota_kb

if TYPE_CHECKING:
    from .engine import Engine


def mb(kb: int) -> float:
    return round(kb / KB_PER_MB, 3)


def plan_view(plan: Plan) -> dict[str, Any]:
    return {"code": plan.code, "name": plan.name, "carrier": plan.carrier, "term": plan.term,
            "term_months": plan.term_months, "quota_mb": plan.quota_mb, "quota_scope": plan.quota_scope,
            "price": to_cny(plan.price), "overage_per_mb": to_cny(plan.overage_per_mb)}


def usage_view(engine: "Engine", card: Card) -> dict[str, Any]:
    """Usage as of now, honouring the lazy reset (counters of a past period read as zero)."""
    cs = engine.carriers[card.profile.id]
    cycle_kb = card.cycle_usage_kb if card.cycle == cs.cycle else 0
    current = card.plan is not None and card.quota_period == period_of(card, cs)
    used = card.quota_used_kb if current else 0
    addon = card.addon_kb if current else 0
    out: dict[str, Any] = {"cycle_mb": mb(cycle_kb), "quota_used_mb": mb(used), "addon_mb": mb(addon),
                           "quota_mb": mb(card.plan.quota_kb + addon) if card.plan else 0}
    if card.pool is not None:
        pool = card.pool
        pool_used = pool.used_kb if pool.period == cs.cycle else 0
        pool_addon = pool.addon_kb if pool.period == cs.cycle else 0
        quota = pool_quota_kb(pool) - pool.addon_kb + pool_addon
        out["pool"] = {"id": pool.id, "used_mb": mb(pool_used), "quota_mb": mb(quota)}
    if card.phase == State.TESTING:
        out["test_used_mb"] = mb(card.test_used_kb)
    return out


def pool_view(engine: "Engine", pool: Any) -> dict[str, Any]:
    usage = usage_view(engine, pool.members[0]).get("pool", {}) if pool.members else {}
    return {"id": pool.id, "carrier": pool.carrier, "name": pool.name, "members": [c.iccid for c in pool.members],
            "used_mb": usage.get("used_mb", 0.0), "quota_mb": usage.get("quota_mb", 0.0)}


def card_view(engine: "Engine", card: Card) -> dict[str, Any]:
    iso = engine.iso
    pending = None
    if card.pending_plan is not None:
        pending = {"plan": card.pending_plan.code, "effective_at": iso(card.pending_at)}
    return {
        "iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn, "carrier": card.profile.id,
        "account": card.account_id, "state": card.state.label, "reasons": reason_names(card.reasons),
        "plan": card.plan.code if card.plan else None, "pending_change": pending,
        "term_start": iso(card.term_start), "term_end": iso(card.term_end), "prepaid_terms": card.prepaid_terms,
        "balance": to_cny(card.balance), "auto_suspend": card.auto_suspend, "auto_renew": card.auto_renew,
        "imei": card.imei, "device_changes": card.device_changes, "verified": card.verified,
        "usage": usage_view(engine, card) if card.plan else None,
        "opened_at": iso(card.opened_at), "activated_at": iso(card.activated_at),
        "last_used_at": iso(card.last_used_at), "expired_at": iso(card.expired_at),
        "retention_until": iso(card.retention_deadline) if card.reasons & Reason.EXPIRED else None,
        "real_name_deadline": iso(card.kyc_deadline) if not card.verified else None,
        "cancellation": _cancellation(engine, card), "replaced_by": card.replaced_by, "replaces": card.replaces,
    }


def _cancellation(engine: "Engine", card: Card) -> dict[str, Any] | None:
    if card.phase == State.CANCELLED:
        return {"status": "done", "cause": card.cancel_cause, "at": engine.iso(card.cancelled_at),
                "certificate": card.certificate["number"] if card.certificate else None}
    req = card.cancel_request
    if req and card.phase == State.PENDING_CANCEL:
        return {"status": "under_review", "review": req["review"], "due": engine.iso(req["due"])}
    return None


def event_view(engine: "Engine", ev: EventRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": ev.seq, "time": engine.iso(ev.time), "kind": ev.kind.label,
                           "iccid": engine.cards[ev.card].iccid if ev.card >= 0 else None,
                           "cause": ("api", "clock", "usage", "world")[ev.cause]}
    if ev.kind == Kind.STATE_CHANGED:
        out["old_state"] = State(ev.old_state).label
        out["new_state"] = State(ev.new_state).label
        out["reasons"] = reason_names(ev.reasons)
        out["change"] = {CHANGE_ADDED: "added", CHANGE_REMOVED: "removed"}.get(ev.change, "none")
    if ev.kind in MONEY_KINDS:
        out["amount"] = to_cny(ev.amount)
    if ev.detail:
        out["detail"] = ev.detail
    return out


def ledger_view(engine: "Engine", card: Card) -> list[dict[str, Any]]:
    """The card's money events, each with the running balance after it."""
    rows, balance = [], 0
    for ev in engine.events.read(card.events):
        if ev.kind in MONEY_KINDS:
            balance += ev.amount
            item = (ev.detail or {}).get("item")
            rows.append({"seq": ev.seq, "time": engine.iso(ev.time), "kind": ev.kind.label, "item": item,
                         "amount": to_cny(ev.amount), "balance": to_cny(balance)})
    return rows
