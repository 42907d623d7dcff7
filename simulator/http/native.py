"""The native API's responses (``/v1``): each route names the engine operation it runs (``spec.ENGINE_OPERATION``)
and here says only how its answer is shaped. No rule lives here; the engine decides, these functions render
(moto's ``responses.py``; the answers of writes are shaped in ``answers``). Writes go through ``Ctx.run``, which
dispatches through the operation table and journals the engine command, so a write replays the same whichever
API made it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import not_found
from . import views
from .answers import answer
from .feed import account_events
from .problems import ProblemError

if TYPE_CHECKING:
    from .app import Ctx

HANDLERS: dict[str, Callable[["Ctx"], Any]] = {}


def handler(op_id: str) -> Callable:
    def register(fn: Callable) -> Callable:
        HANDLERS[op_id] = fn
        return fn
    return register


def _iccid(ctx: "Ctx") -> str:
    return ctx.params["iccid"]


def _card(ctx: "Ctx", iccid: str | None = None) -> dict[str, Any]:
    return views.card(ctx.sim.card(iccid or _iccid(ctx), ctx.caller))


@handler("getAccount")
def get_account(ctx: "Ctx") -> dict[str, Any]:
    return views.account(ctx.sim.account(ctx.caller))


@handler("listCarriers")
def list_carriers(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [views.carrier(c) for c in ctx.sim.carriers()]}


@handler("listPlans")
def list_plans(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [views.plan(p) for p in ctx.sim.plans(ctx.params["carrier"])]}


@handler("listAddOns")
def list_addons(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [views.addon(a) for a in ctx.sim.addons(ctx.params["carrier"])]}


@handler("listCards")
def list_cards(ctx: "Ctx") -> dict[str, Any]:
    """Filters by state, reason, carrier and pool; the cursor is a position in the account's card list, which
    only grows, so pages never skip or repeat a card."""
    q = ctx.query
    limit = q.get("limit", 100)
    items: list[dict[str, Any]] = []
    pos = start = int(q.get("cursor", 0))
    total = ctx.sim.account(ctx.caller).cards
    for pos, card in ctx.sim.account_cards(ctx.caller, start):
        pos += 1
        if "carrier" in q and card.carrier != q["carrier"]:
            continue
        if "pool" in q and (card.usage is None or card.usage.pool is None or card.usage.pool.id != q["pool"]):
            continue
        if ("state" in q and card.state.label != q["state"]) or \
                ("reason" in q and q["reason"] not in card.reasons.names()):
            continue
        items.append(views.card(card))
        if len(items) >= limit:
            break
    return {"items": items, "next_cursor": str(pos) if pos < total else None}


def engine_write(route_id: str, op_name: str) -> Callable[["Ctx"], Any]:
    """A route that runs one engine operation with the path parameters and the body as its arguments, and
    answers as ``answers.answer`` shapes it."""
    def run(ctx: "Ctx") -> Any:
        args = {**ctx.params, **ctx.body}
        return answer(ctx.sim, op_name, ctx.caller, args, ctx.run(op_name, args))
    run.__name__ = route_id
    return run


@handler("getCard")
def get_card(ctx: "Ctx") -> dict[str, Any]:
    return _card(ctx)


@handler("getCardHistory")
def get_history(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [views.event(e) for e in ctx.sim.history(_iccid(ctx), ctx.caller)]}


@handler("getCardUsage")
def get_usage(ctx: "Ctx") -> dict[str, Any]:
    usage = ctx.sim.card(_iccid(ctx), ctx.caller).usage
    return views.usage(usage) if usage is not None else dict(views.EMPTY_USAGE)


@handler("getCardLedger")
def get_ledger(ctx: "Ctx") -> dict[str, Any]:
    rows = [views.ledger_entry(e) for e in ctx.sim.ledger(_iccid(ctx), ctx.caller)]
    return {"items": rows, "balance": _card(ctx)["balance"]}


@handler("getCertificate")
def certificate(ctx: "Ctx") -> dict[str, Any]:
    return views.certificate(ctx.sim.certificate(ctx.caller, _iccid(ctx)))


@handler("listPools")
def list_pools(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [views.pool(p) for p in ctx.sim.pools(ctx.caller)]}


@handler("getPool")
def get_pool(ctx: "Ctx") -> dict[str, Any]:
    return views.pool(ctx.sim.pool(ctx.caller, ctx.params["pool_id"]))


@handler("createBatchJob")
def create_batch(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    up = ctx.upload or {}
    for name in ("operation", "file"):
        if not up.get(name):
            raise ProblemError(422, "invalid_body", f"The multipart field {name!r} is missing.")
    args = {"operation": up["operation"], "data": up["file"], "filename": up["filename"]}
    if up.get("document") is not None:
        args["document"] = up["document"]
    return answer(ctx.sim, "batch", ctx.caller, args, ctx.run("batch", args))


@handler("getBatchJob")
def get_batch(ctx: "Ctx") -> dict[str, Any]:
    job = ctx.state.batch_jobs.get(ctx.params["job_id"])
    if job is None or job["account"] != ctx.caller:
        raise not_found("batch_job", ctx.params["job_id"])
    return {k: v for k, v in job.items() if k != "account"}


@handler("listEvents")
def list_events(ctx: "Ctx") -> dict[str, Any]:
    items, cursor = account_events(ctx.sim, ctx.caller, ctx.query.get("cursor", 0), ctx.query.get("limit", 100))
    return {"items": items, "next_cursor": cursor}


@handler("listWebhooks")
def list_webhooks(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [s.view() for s in ctx.state.webhooks.of(ctx.caller)]}
