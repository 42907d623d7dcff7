"""The native API's responses (``/v1``): each handler turns a validated request into one engine operation and
shapes the answer. No rule lives here; the engine decides, these functions translate (moto's ``responses.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import not_found
from ..money import to_cny
from ..views import card_view, plan_view, pool_view
from .feed import account_events
from .problems import ProblemError

if TYPE_CHECKING:
    from ..simulation import Simulation
    from .app import Ctx

HANDLERS: dict[str, Callable[["Ctx"], Any]] = {}


def handler(op_id: str) -> Callable:
    def register(fn: Callable) -> Callable:
        HANDLERS[op_id] = fn
        return fn
    return register


def _card(ctx: "Ctx") -> dict[str, Any]:
    return ctx.sim.card(ctx.params["iccid"], ctx.account)


def _carrier(ctx: "Ctx") -> Any:
    return ctx.sim.carrier(ctx.params["carrier"])


@handler("getAccount")
def get_account(ctx: "Ctx") -> dict[str, Any]:
    return account_view(ctx.sim, ctx.account)


def account_view(sim: "Simulation", account_id: str) -> dict[str, Any]:
    a = sim.accounts[account_id]
    return {"id": a.id, "name": a.name, "kind": a.kind, "channel": a.channel, "verified": a.verified,
            "balance": sim.account_balance(a.id), "cards": len(a.cards)}


@handler("listCarriers")
def list_carriers(ctx: "Ctx") -> dict[str, Any]:
    items = []
    for cs in ctx.sim.carriers.values():
        p = cs.profile
        items.append({"id": p.id, "name": p.name, "timezone": p.timezone, "billing_cycle_day": p.billing_cycle_day,
                      "retention_months": p.retention_months, "retention_fee": to_cny(p.retention_fee),
                      "arrears_auto_resume": p.arrears_auto_resume, "real_name_grace_days": p.kyc_grace_days,
                      "restricted_regions": sorted(p.restricted_regions),
                      "maintenance_until": ctx.sim.iso(cs.maintenance_until)})
    return {"items": items}


@handler("listPlans")
def list_plans(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [plan_view(p) for p in _carrier(ctx).profile.plans.values()]}


@handler("listAddOns")
def list_addons(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [{"code": a.code, "name": a.name, "quota_mb": a.quota_kb // 1024, "price": to_cny(a.price)}
                      for a in _carrier(ctx).profile.addons.values()]}


@handler("listCards")
def list_cards(ctx: "Ctx") -> dict[str, Any]:
    """Filters by state, reason, carrier and pool; the cursor is a position in the account's card list, which
    only grows, so pages never skip or repeat a card."""
    sim, q = ctx.sim, ctx.query
    cards = sim.accounts[ctx.account].cards
    start = int(q.get("cursor", 0))
    limit = q.get("limit", 100)
    items: list[dict[str, Any]] = []
    pos = start
    while pos < len(cards) and len(items) < limit:
        card = cards[pos]
        pos += 1
        if "carrier" in q and card.profile.id != q["carrier"]:
            continue
        if "pool" in q and (card.pool is None or card.pool.id != q["pool"]):
            continue
        view = card_view(sim, card)
        if ("state" in q and view["state"] != q["state"]) or ("reason" in q and q["reason"] not in view["reasons"]):
            continue
        items.append(view)
    return {"items": items, "next_cursor": str(pos) if pos < len(cards) else None}


@handler("openCard")
def open_card(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    b = ctx.body
    iccid = ctx.sim.open_card(ctx.account, b["carrier"], b["plan"], payment=b.get("payment"),
                              auto_suspend=b.get("auto_suspend", True), auto_renew=b.get("auto_renew", True),
                              testing=b.get("testing", False), iccid=b.get("iccid"))
    return 201, ctx.sim.card(iccid, ctx.account)


@handler("getCard")
def get_card(ctx: "Ctx") -> dict[str, Any]:
    return _card(ctx)


@handler("getCardHistory")
def get_history(ctx: "Ctx") -> dict[str, Any]:
    return {"items": ctx.sim.history(ctx.params["iccid"], ctx.account)}


@handler("getCardUsage")
def get_usage(ctx: "Ctx") -> dict[str, Any]:
    usage = _card(ctx)["usage"]
    return usage if usage is not None else {"cycle_mb": 0.0, "quota_used_mb": 0.0, "addon_mb": 0.0, "quota_mb": 0.0}


@handler("getCardLedger")
def get_ledger(ctx: "Ctx") -> dict[str, Any]:
    rows = ctx.sim.ledger(ctx.params["iccid"], ctx.account)
    return {"items": rows, "balance": _card(ctx)["balance"]}


def _card_command(op_id: str, call: Callable[["Ctx"], Any]) -> None:
    """Register a POST/DELETE on a card whose answer is the card as it stands afterwards."""
    def run(ctx: "Ctx") -> dict[str, Any]:
        call(ctx)
        return _card(ctx)
    HANDLERS[op_id] = run


def _iccid(ctx: "Ctx") -> str:
    return ctx.params["iccid"]


_card_command("activateCard", lambda c: c.sim.activate(c.account, _iccid(c), c.body.get("imei")))
_card_command("changePlan", lambda c: c.sim.change_plan(c.account, _iccid(c), c.body["plan"]))
_card_command("withdrawPlanChange", lambda c: c.sim.withdraw_plan_change(c.account, _iccid(c)))
_card_command("buyAddOn", lambda c: c.sim.buy_addon(c.account, _iccid(c), c.body["addon"]))
_card_command("suspendCard", lambda c: c.sim.suspend(c.account, _iccid(c)))
_card_command("resumeCard", lambda c: c.sim.resume(c.account, _iccid(c)))
_card_command("reactivateCard", lambda c: c.sim.reactivate(c.account, _iccid(c)))
_card_command("verifyIdentity", lambda c: c.sim.verify_identity(c.account, _iccid(c), c.body["name"],
                                                                 c.body["id_number"]))
_card_command("rebindDevice", lambda c: c.sim.rebind_device(c.account, _iccid(c), c.body["imei"]))
_card_command("unbindDevice", lambda c: c.sim.unbind_device(c.account, _iccid(c)))
_card_command("setAutoRenew", lambda c: c.sim.set_auto_renew(c.account, _iccid(c), c.body["enabled"]))
_card_command("appealRegion", lambda c: c.sim.appeal_region(c.account, _iccid(c)))
_card_command("reportLost", lambda c: c.sim.report_lost(c.account, _iccid(c)))


@handler("topUp")
def top_up(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    seq = ctx.sim.top_up(ctx.account, _iccid(ctx), ctx.body["amount"])
    return 201, {"payment": seq, "card": _card(ctx)}


@handler("renewCard")
def renew(ctx: "Ctx") -> dict[str, Any]:
    result = ctx.sim.renew(ctx.account, _iccid(ctx))
    return {"result": result, "card": _card(ctx)}


@handler("swapCard")
def swap(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    new = ctx.sim.swap(ctx.account, _iccid(ctx), ctx.body.get("new_iccid"))
    return 201, ctx.sim.card(new, ctx.account)


@handler("requestCancellation")
def request_cancellation(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 202, ctx.sim.request_cancellation(ctx.account, _iccid(ctx), ctx.body["document"])


@handler("getCertificate")
def certificate(ctx: "Ctx") -> dict[str, Any]:
    return ctx.sim.certificate(ctx.account, _iccid(ctx))


@handler("requestRefund")
def refund(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    b = ctx.body
    amount = ctx.sim.request_refund(ctx.account, _iccid(ctx), b["kind"], payment=b.get("payment"),
                                    to_iccid=b.get("to_iccid"))
    return 201, {"amount": amount, "card": _card(ctx)}


@handler("listPools")
def list_pools(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [pool_view(ctx.sim, p) for p in ctx.sim.pools.values() if p.account_id == ctx.account]}


@handler("createPool")
def create_pool(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    pool_id = ctx.sim.create_pool(ctx.account, ctx.body["carrier"], ctx.body.get("name", "pool"))
    return 201, pool_view(ctx.sim, ctx.sim.pools[pool_id])


def _pool(ctx: "Ctx") -> Any:
    pool = ctx.sim.pools.get(ctx.params["pool_id"])
    if pool is None or pool.account_id != ctx.account:
        raise not_found("pool", ctx.params["pool_id"])
    return pool


@handler("getPool")
def get_pool(ctx: "Ctx") -> dict[str, Any]:
    return pool_view(ctx.sim, _pool(ctx))


@handler("addPoolMember")
def add_member(ctx: "Ctx") -> dict[str, Any]:
    pool = _pool(ctx)
    ctx.sim.add_to_pool(ctx.account, pool.id, ctx.body["iccid"])
    return pool_view(ctx.sim, pool)


@handler("createBatchJob")
def create_batch(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    up = ctx.upload or {}
    for name in ("operation", "file"):
        if not up.get(name):
            raise ProblemError(422, "invalid_body", f"The multipart field {name!r} is missing.")
    result = ctx.sim.batch(ctx.account, up["operation"], up["file"], up["filename"], document=up.get("document"))
    jobs = ctx.state.batch_jobs
    job = {"id": f"job-{len(jobs) + 1:05d}", "status": "completed", "account": ctx.account, **result}
    jobs[job["id"]] = job
    return 201, {k: v for k, v in job.items() if k != "account"}


@handler("getBatchJob")
def get_batch(ctx: "Ctx") -> dict[str, Any]:
    job = ctx.state.batch_jobs.get(ctx.params["job_id"])
    if job is None or job["account"] != ctx.account:
        raise not_found("batch_job", ctx.params["job_id"])
    return {k: v for k, v in job.items() if k != "account"}


@handler("listEvents")
def list_events(ctx: "Ctx") -> dict[str, Any]:
    items, cursor = account_events(ctx.sim, ctx.account, ctx.query.get("cursor", 0), ctx.query.get("limit", 100))
    return {"items": items, "next_cursor": cursor}


@handler("createWebhook")
def create_webhook(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 201, ctx.state.webhooks.register(ctx.account, ctx.body["url"]).view(with_secret=True)


@handler("listWebhooks")
def list_webhooks(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [s.view() for s in ctx.state.webhooks.of(ctx.account)]}


@handler("deleteWebhook")
def delete_webhook(ctx: "Ctx") -> tuple[int, None]:
    if not ctx.state.webhooks.remove(ctx.account, ctx.params["webhook_id"]):
        raise not_found("webhook", ctx.params["webhook_id"])
    return 204, None


