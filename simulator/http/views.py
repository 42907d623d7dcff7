"""The native API's JSON shapes (``/v1`` and ``/_sim``) of the engine's typed records.

Only the native API writes money as CNY text (``"5.00"``), data as MB with KB precision and times as ISO-8601 in
the simulation's zone; the engine's records carry fen, KB and datetimes, and a carrier dialect renders the same
records its own way. Pure functions, no aiohttp: the in-process scenario target answers in these shapes too, so a
scenario reads the same fields on every target. Key order is part of the wire format (the bytes are compared).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import records as rec
from ..events import MONEY_KINDS
from ..money import to_cny
from ..profile import KB_PER_MB, AddOn, Plan


def mb(kb: int) -> float:
    return round(kb / KB_PER_MB, 3)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def plan(p: Plan) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "carrier": p.carrier, "term": p.term, "term_months": p.term_months,
            "quota_mb": p.quota_mb, "quota_scope": p.quota_scope, "price": to_cny(p.price),
            "overage_per_mb": to_cny(p.overage_per_mb)}


def addon(a: AddOn) -> dict[str, Any]:
    return {"code": a.code, "name": a.name, "quota_mb": a.quota_kb // KB_PER_MB, "price": to_cny(a.price)}


def usage(u: rec.Usage) -> dict[str, Any]:
    out: dict[str, Any] = {"cycle_mb": mb(u.cycle_kb), "quota_used_mb": mb(u.quota_used_kb),
                           "addon_mb": mb(u.addon_kb), "quota_mb": mb(u.quota_kb)}
    if u.pool is not None:
        out["pool"] = {"id": u.pool.id, "used_mb": mb(u.pool.used_kb), "quota_mb": mb(u.pool.quota_kb)}
    if u.test_used_kb is not None:
        out["test_used_mb"] = mb(u.test_used_kb)
    return out


EMPTY_USAGE = {"cycle_mb": 0.0, "quota_used_mb": 0.0, "addon_mb": 0.0, "quota_mb": 0.0}


def cancellation(c: rec.Cancellation | None) -> dict[str, Any] | None:
    if c is None:
        return None
    if c.status == "done":
        return {"status": "done", "cause": c.cause, "at": iso(c.at), "certificate": c.certificate}
    return {"status": c.status, "review": c.review, "due": iso(c.due)}


def card(c: rec.Card) -> dict[str, Any]:
    pending = None
    if c.pending_change is not None:
        pending = {"plan": c.pending_change.plan, "effective_at": iso(c.pending_change.effective_at)}
    return {
        "iccid": c.iccid, "imsi": c.imsi, "msisdn": c.msisdn, "carrier": c.carrier, "account": c.account,
        "state": c.state.label, "reasons": c.reasons.names(), "plan": c.plan, "pending_change": pending,
        "term_start": iso(c.term_start), "term_end": iso(c.term_end), "prepaid_terms": c.prepaid_terms,
        "balance": to_cny(c.balance), "auto_suspend": c.auto_suspend, "auto_renew": c.auto_renew, "imei": c.imei,
        "device_changes": c.device_changes, "verified": c.verified,
        "usage": usage(c.usage) if c.usage is not None else None,
        "opened_at": iso(c.opened_at), "activated_at": iso(c.activated_at), "last_used_at": iso(c.last_used_at),
        "expired_at": iso(c.expired_at), "retention_until": iso(c.retention_until),
        "real_name_deadline": iso(c.real_name_deadline), "cancellation": cancellation(c.cancellation),
        "replaced_by": c.replaced_by, "replaces": c.replaces,
    }


def event(e: rec.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": e.seq, "time": iso(e.time), "kind": e.kind.label, "iccid": e.iccid,
                           "cause": e.cause.label}
    if e.old_state is not None and e.new_state is not None and e.reasons is not None:
        out["old_state"] = e.old_state.label
        out["new_state"] = e.new_state.label
        out["reasons"] = e.reasons.names()
        out["change"] = e.change
    if e.kind in MONEY_KINDS and e.amount is not None:
        out["amount"] = to_cny(e.amount)
    if e.detail:
        out["detail"] = e.detail
    return out


def ledger_entry(e: rec.LedgerEntry) -> dict[str, Any]:
    return {"seq": e.seq, "time": iso(e.time), "kind": e.kind.label, "item": e.item, "amount": to_cny(e.amount),
            "balance": to_cny(e.balance)}


def pool(p: rec.Pool) -> dict[str, Any]:
    return {"id": p.id, "carrier": p.carrier, "name": p.name, "members": list(p.members), "used_mb": mb(p.used_kb),
            "quota_mb": mb(p.quota_kb)}


def account(a: rec.Account) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "kind": a.kind, "channel": a.channel, "verified": a.verified,
            "balance": to_cny(a.balance), "cards": a.cards}


def carrier(c: rec.Carrier) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "timezone": c.timezone, "billing_cycle_day": c.billing_cycle_day,
            "retention_months": c.retention_months, "retention_fee": to_cny(c.retention_fee),
            "arrears_auto_resume": c.arrears_auto_resume, "real_name_grace_days": c.real_name_grace_days,
            "restricted_regions": list(c.restricted_regions), "maintenance_until": iso(c.maintenance_until)}


def review(r: rec.Review) -> dict[str, Any]:
    return {"iccid": r.iccid, "review": r.review, "due": iso(r.due)}


def certificate(c: rec.Certificate) -> dict[str, Any]:
    return {"number": c.number, "iccid": c.iccid, "msisdn": c.msisdn, "carrier": c.carrier, "account": c.account,
            "cancelled_at": iso(c.cancelled_at)}


def batch_row(r: rec.BatchRow) -> dict[str, Any]:
    out: dict[str, Any] = {"row": r.row, "iccid": r.iccid, "ok": r.ok}
    if r.code is not None:
        out["code"], out["message"] = r.code, r.message
    if r.review is not None:
        out["review"], out["due"] = r.review, iso(r.due)
    return out


def batch(b: rec.BatchResult) -> dict[str, Any]:
    return {"operation": b.operation, "rows": [batch_row(r) for r in b.rows], "succeeded": b.succeeded,
            "failed": b.failed}


def usage_result(u: rec.UsageResult) -> dict[str, Any]:
    return {"iccid": u.iccid, "accepted_kb": u.accepted_kb, "refused_kb": u.refused_kb,
            "refused_because": u.refused_because, "state": u.state.label, "reasons": u.reasons.names()}


def usage_batch(u: rec.UsageBatchResult) -> dict[str, Any]:
    return {"reports": u.reports, "accepted_kb": u.accepted_kb, "refused_kb": u.refused_kb, "refused": u.refused}


def advance(a: rec.AdvanceResult) -> dict[str, Any]:
    return {"from": iso(a.start), "to": iso(a.to), "jobs": a.jobs, "events": a.events}
