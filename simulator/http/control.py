"""Test control (``/_sim``), behind the admin token: the clock, accounts and keys, fleets, the network's view of
a card (usage, region, device), carrier holds and maintenance windows, faults, reset. What no real carrier offers,
and what makes a three-month scenario a two-second test."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from ..errors import SimError
from ..fleet import FleetSpec, generate
from ..simulation import Simulation
from ..timeutil import parse_instant
from .durability import Durability, snapshot_view
from .native import account_view
from .rewind_advice import clock_backwards
from .tenancy import KeyRing

if TYPE_CHECKING:
    from .app import Ctx

HANDLERS: dict[str, Callable[["Ctx"], Any]] = {}
SNAPSHOT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def handler(op_id: str) -> Callable:
    def register(fn: Callable) -> Callable:
        HANDLERS[op_id] = fn
        return fn
    return register


# The engine's calendar arithmetic runs on datetimes (years 1 to 9999), and terms, retention and reviews schedule
# jobs up to a year and more past the clock: a clock near either end would fail half-way through an advance (a 500
# after part of the world had moved). Test control keeps the clock well inside that range.
EARLIEST = int(datetime(1900, 1, 1, tzinfo=timezone.utc).timestamp())
LATEST = int(datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp())


def _instant(what: str, resolve: Callable[[], int], *, earliest: int | None = EARLIEST) -> int:
    """Resolve a time or duration from a request, refusing (422) what the calendar cannot represent."""
    try:
        instant = resolve()
    except (ValueError, OverflowError) as exc:  # SimError (bad text) passes through unchanged
        raise SimError("invalid_input", f"The {what} is out of range: {exc}.", status=422) from None
    if instant >= LATEST or (earliest is not None and instant < earliest):
        raise SimError("invalid_input", f"The {what} must lie between 1900-01-01 and 9000-01-01 (UTC).",
                       status=422)
    return instant


@handler("getClock")
def get_clock(ctx: "Ctx") -> dict[str, Any]:
    ctx.state.clock.tick()
    return ctx.state.clock.view()


@handler("advanceClock")
def advance(ctx: "Ctx") -> dict[str, Any]:
    """Answers once every job due on the way has run: the world has settled at the target time."""
    clock = ctx.state.clock
    clock.tick()
    sim = ctx.sim
    # no lower bound here: a target in the past is clock_backwards (409), whatever its year
    target = _instant("target time", lambda: sim.resolve_target(ctx.body.get("to"), ctx.body.get("by")),
                      earliest=None)
    if target < sim.now:  # clock_backwards, with the way back this server offers (with or without --db)
        raise clock_backwards(sim, target, durable=ctx.state.durability is not None)
    result = sim.advance(to=target)
    clock.reanchor()
    return {**result, "now": ctx.sim.iso(ctx.sim.now)}


@handler("setClockMode")
def set_mode(ctx: "Ctx") -> dict[str, Any]:
    ctx.state.clock.set_mode(ctx.body["mode"], ctx.body.get("rate"))
    return ctx.state.clock.view()


@handler("createAccount")
def create_account(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    b = ctx.body
    account = ctx.sim.create_account(b["name"], kind=b.get("kind", "enterprise"), channel=b.get("channel", "direct"),
                                     verified=b.get("verified", False), id_number=b.get("id_number"))
    key = ctx.state.keys.issue(account)
    return 201, {"account": account_view(ctx.sim, account), "api_key": key}


@handler("createApiKey")
def create_key(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    account = ctx.params["account_id"]
    if account not in ctx.sim.accounts:
        raise SimError("account_not_found", f"No account {account!r} was found.", status=404)
    return 201, {"account": account, "api_key": ctx.state.keys.issue(account)}


@handler("generateFleet")
def fleet(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    b = ctx.body
    spec = FleetSpec(accounts=b.get("accounts", max(1, b["cards"] // 50)), cards=b["cards"],
                     seed=b.get("seed", ctx.sim.seed))
    built = generate(ctx.sim, spec)
    return 201, {"accounts": [{"account": a, "api_key": ctx.state.keys.issue(a)} for a in built.accounts],
                 "cards": len(built.cards)}


@handler("reportUsage")
def usage(ctx: "Ctx") -> dict[str, Any]:
    b = ctx.body
    result = ctx.sim.report_usage(ctx.params["iccid"], mb=b.get("mb"), kb=b.get("kb"), region=b.get("region"),
                                  imei=b.get("imei"))
    return asdict(result)


@handler("barCard")
def bar(ctx: "Ctx") -> dict[str, Any]:
    ctx.sim.carrier_bar(ctx.params["iccid"], ctx.body.get("note", ""))
    return ctx.sim.card(ctx.params["iccid"])


@handler("releaseCard")
def release(ctx: "Ctx") -> dict[str, Any]:
    ctx.sim.carrier_release(ctx.params["iccid"])
    return ctx.sim.card(ctx.params["iccid"])


@handler("getProfile")
def get_profile(ctx: "Ctx") -> dict[str, Any]:
    """The profile as loaded: what a scenario's ``${profile.retention.months}`` reads over HTTP."""
    return ctx.sim.carrier(ctx.params["carrier"]).profile.raw


@handler("startMaintenance")
def start_maintenance(ctx: "Ctx") -> dict[str, Any]:
    b, carrier, sim = ctx.body, ctx.params["carrier"], ctx.sim
    sim.carrier(carrier)  # an unknown carrier is 404 before anything about the window
    until = _instant("end of the window", lambda: sim.resolve_target(b.get("until"), b.get("duration")),
                     earliest=None)
    sim.start_maintenance(carrier, until=until, stop_cards=b.get("stop_cards", True))
    return {"carrier": carrier, "until": ctx.sim.iso(ctx.sim.carrier(carrier).maintenance_until)}


@handler("endMaintenance")
def end_maintenance(ctx: "Ctx") -> tuple[int, None]:
    ctx.sim.end_maintenance(ctx.params["carrier"])
    return 204, None


@handler("createFault")
def create_fault(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 201, ctx.state.faults.add(ctx.body).view()


@handler("listFaults")
def list_faults(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [f.view() for f in ctx.state.faults.faults]}


@handler("clearFaults")
def clear_faults(ctx: "Ctx") -> tuple[int, None]:
    ctx.state.faults.clear()
    return 204, None


@handler("resetWorld")
def reset(ctx: "Ctx") -> dict[str, Any]:
    """A new, empty world: accounts, keys, cards, webhooks, idempotency records and faults are gone."""
    old = ctx.sim
    start = old.now
    if "start" in ctx.body:
        start = _instant("start time", lambda: parse_instant(ctx.body["start"], old.tz))
    sim = Simulation(seed=ctx.body.get("seed", old.seed), start=start, timezone=str(old.tz),
                     profiles=[cs.profile for cs in old.carriers.values()])
    state = ctx.state
    state.sim = sim
    state.keys = KeyRing(sim.seed, state.keys.generation + 1)  # the old world's keys open nothing in the new one
    state.idempotency.clear()
    state.faults.clear()
    state.batch_jobs.clear()
    for sub_id in list(state.webhooks.subs):
        state.webhooks.remove(state.webhooks.subs[sub_id].account_id, sub_id)
    state.clock.reanchor()
    return state.clock.view()


# ---------------------------------------------------------------------------------------------- durable state


def _durability(ctx: "Ctx") -> Durability:
    if ctx.state.durability is None:
        raise SimError("durability_disabled", "Snapshots and rewind keep their data in the database: start the "
                       "server with --db FILE.", status=409)
    return ctx.state.durability


@handler("createSnapshot")
def create_snapshot(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    d = _durability(ctx)
    if d.store.snapshot_info(ctx.body["name"]) is not None:
        raise SimError("snapshot_exists", f"A snapshot named {ctx.body['name']!r} exists already.", status=409)
    return 201, snapshot_view(d.snapshot(ctx.body["name"]), ctx.sim.tz)


@handler("listSnapshots")
def list_snapshots(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [snapshot_view(i, ctx.sim.tz) for i in _durability(ctx).store.snapshots()]}


@handler("restoreSnapshot")
def restore_snapshot(ctx: "Ctx") -> dict[str, Any]:
    info = _durability(ctx).restore(ctx.params["name"])
    ctx.state.webhooks.notify()
    return {"snapshot": info.id, "now": ctx.sim.iso(ctx.sim.now)}


@handler("exportSnapshot")
def export_snapshot(ctx: "Ctx") -> web.Response:
    data = _durability(ctx).export(ctx.params["name"])
    return web.Response(body=data, content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{ctx.params["name"]}.carriersim-snapshot"'})


@handler("importSnapshot")
def import_snapshot(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    d = _durability(ctx)
    up = ctx.upload or {}
    name = up.get("name", "")
    if not up.get("file") or not SNAPSHOT_NAME_RE.fullmatch(name or ""):
        raise SimError("invalid_input", "Upload multipart/form-data with a file (from an export) and a name of "
                       "letters, digits, '.', '_' or '-'.", status=422)
    if d.store.snapshot_info(name) is not None:
        raise SimError("snapshot_exists", f"A snapshot named {name!r} exists already.", status=409)
    return 201, snapshot_view(d.import_(up["file"], name), ctx.sim.tz)


@handler("rewindTimeline")
def rewind(ctx: "Ctx") -> dict[str, Any]:
    d = _durability(ctx)
    target = _instant("rewind target", lambda: parse_instant(ctx.body["to"], ctx.sim.tz))
    result = d.rewind(target)
    ctx.state.clock.reanchor()
    ctx.state.webhooks.notify()
    return {**result, "now": ctx.sim.iso(ctx.sim.now)}
