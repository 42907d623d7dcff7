"""Test control (``/_sim``), behind the admin token: the clock, accounts and keys, fleets, the network's view of
a card (usage, region, device), carrier holds and maintenance windows, faults, reset. What no real carrier offers,
and what makes a three-month scenario a two-second test."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from ..durable.journal import Durability, snapshot_view
from ..errors import SimError
from ..timeutil import parse_instant
from . import dashboard, views
from .recorder import Recorder
from .world import bounded_instant

if TYPE_CHECKING:
    from .app import Ctx

HANDLERS: dict[str, Callable[["Ctx"], Any]] = {}
SNAPSHOT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def handler(op_id: str) -> Callable:
    def register(fn: Callable) -> Callable:
        HANDLERS[op_id] = fn
        return fn
    return register


@handler("getClock")
def get_clock(ctx: "Ctx") -> dict[str, Any]:
    ctx.state.clock.tick()
    return ctx.state.clock.view()


@handler("advanceClock")
def advance(ctx: "Ctx") -> dict[str, Any]:
    """Answers once every job due on the way has run: the world has settled at the target time."""
    result = ctx.run("advance", ctx.body)
    return {**views.advance(result), "now": ctx.sim.iso(ctx.sim.now)}


@handler("setClockMode")
def set_mode(ctx: "Ctx") -> dict[str, Any]:
    ctx.run("set_clock_mode", ctx.body)
    return ctx.state.clock.view()


@handler("createAccount")
def create_account(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    account, key = ctx.run("create_account", ctx.body)
    answer = {"account": views.account(ctx.sim.account(account)), "api_key": key}
    if ctx.state.dialects:  # only where dialects are mounted: the default server answers what it always did
        from .dialects.credentials import credentials
        answer["dialects"] = {d: credentials(ctx.state, d, account, key) for d in ctx.state.dialects}
    return 201, answer


@handler("createApiKey")
def create_key(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 201, {"account": ctx.params["account_id"], "api_key": ctx.run("create_api_key", ctx.params)}


@handler("generateFleet")
def fleet(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    built = ctx.run("generate_fleet", ctx.body)
    if ctx.state.dialects:
        from .dialects.credentials import credentials
        for a in built["accounts"]:
            a["dialects"] = {d: credentials(ctx.state, d, a["account"], a["api_key"]) for d in ctx.state.dialects}
    return 201, built


@handler("reportUsage")
def usage(ctx: "Ctx") -> dict[str, Any]:
    return views.usage_result(ctx.run("report_usage", {**ctx.params, **ctx.body}))


@handler("reportUsageBatch")
def usage_batch(ctx: "Ctx") -> dict[str, Any]:
    return views.usage_batch(ctx.run("report_usage_many", ctx.body))


@handler("barCard")
def bar(ctx: "Ctx") -> dict[str, Any]:
    ctx.run("carrier_bar", {**ctx.params, **ctx.body})
    return views.card(ctx.sim.card(ctx.params["iccid"]))


@handler("releaseCard")
def release(ctx: "Ctx") -> dict[str, Any]:
    ctx.run("carrier_release", ctx.params)
    return views.card(ctx.sim.card(ctx.params["iccid"]))


@handler("getProfile")
def get_profile(ctx: "Ctx") -> dict[str, Any]:
    """The profile as loaded: what a scenario's ``${profile.retention.months}`` reads over HTTP."""
    return ctx.sim.profile(ctx.params["carrier"]).raw


@handler("startMaintenance")
def start_maintenance(ctx: "Ctx") -> dict[str, Any]:
    carrier = ctx.params["carrier"]
    ctx.run("start_maintenance", {"carrier": carrier, **ctx.body})
    until = next(c.maintenance_until for c in ctx.sim.carriers() if c.id == carrier)
    return {"carrier": carrier, "until": views.iso(until)}


@handler("endMaintenance")
def end_maintenance(ctx: "Ctx") -> tuple[int, None]:
    ctx.run("end_maintenance", ctx.params)
    return 204, None


@handler("createFault")
def create_fault(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 201, ctx.run("create_fault", ctx.body).view()


@handler("listFaults")
def list_faults(ctx: "Ctx") -> dict[str, Any]:
    return {"items": [f.view() for f in ctx.state.faults.faults]}


@handler("clearFaults")
def clear_faults(ctx: "Ctx") -> tuple[int, None]:
    ctx.run("clear_faults", {})
    return 204, None


@handler("resetWorld")
def reset(ctx: "Ctx") -> dict[str, Any]:
    """A new, empty world: accounts, keys, cards, webhooks, idempotency records and faults are gone."""
    ctx.run("reset", ctx.body)
    return ctx.state.clock.view()


# ---------------------------------------------------------------------------------------------- worlds


@handler("createWorld")
def create_world(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    """A world of its own (worlds.Worlds): the answer holds its admin token, shown this once."""
    assert ctx.worlds is not None
    b = ctx.body
    state, token, built = ctx.worlds.create(seed=b.get("seed"), start=b.get("start"), profiles=b.get("profiles"),
                                            fleet=b.get("fleet"), clock=b.get("clock"), ttl=b.get("ttl"))
    out = {**ctx.worlds.view(state), "admin_token": token}
    if built is not None:
        out["fleet"] = built
    return 201, out


@handler("listWorlds")
def list_worlds(ctx: "Ctx") -> dict[str, Any]:
    assert ctx.worlds is not None
    return {"items": [ctx.worlds.view(s) for s in ctx.worlds.listing()]}


@handler("getWorld")
def get_world(ctx: "Ctx") -> dict[str, Any]:
    assert ctx.worlds is not None
    return ctx.worlds.view(ctx.state)


@handler("deleteWorld")
def delete_world(ctx: "Ctx") -> tuple[int, None]:
    assert ctx.worlds is not None
    ctx.worlds.delete(ctx.state.id)
    return 204, None


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
    target = bounded_instant("rewind target", lambda: parse_instant(ctx.body["to"], ctx.sim.tz))
    result = d.rewind(target)
    ctx.state.clock.reanchor()
    ctx.state.webhooks.notify()
    return {**result, "now": ctx.sim.iso(ctx.sim.now)}


# ---------------------------------------------------------------------------------------------- the dashboard


@handler("getOverview")
def get_overview(ctx: "Ctx") -> dict[str, Any]:
    ctx.state.clock.tick()
    return dashboard.overview(ctx.sim)


@handler("searchCards")
def search_cards(ctx: "Ctx") -> dict[str, Any]:
    return dashboard.search(ctx.sim, ctx.query)


@handler("getCardLife")
def get_card_life(ctx: "Ctx") -> dict[str, Any]:
    ctx.state.clock.tick()
    return dashboard.life(ctx.sim, ctx.params["iccid"])


@handler("listWorldEvents")
def list_world_events(ctx: "Ctx") -> dict[str, Any]:
    events, cursor = ctx.sim.events_since(ctx.query.get("cursor", 0), ctx.query.get("limit", 100))
    return {"items": [views.event(e) for e in events], "next_cursor": cursor}


@handler("streamEvents")
def stream_events(ctx: "Ctx") -> web.StreamResponse:
    return dashboard.EventStream(ctx.state, ctx.query.get("cursor"))


# ---------------------------------------------------------------------------------------------- the recorder


def _recorder(ctx: "Ctx") -> Recorder:
    if ctx.state.recorder is None:
        raise SimError("recording_disabled", "Recordings are kept in a directory: start the server with "
                       "--record DIR.", status=409)
    return ctx.state.recorder


@handler("startRecording")
def start_recording(ctx: "Ctx") -> tuple[int, dict[str, Any]]:
    return 201, _recorder(ctx).start(ctx.state).view()


@handler("listRecordings")
def list_recordings(ctx: "Ctx") -> dict[str, Any]:
    recorder = ctx.state.recorder
    if recorder is None:
        return {"items": [], "dir": None}
    return {"items": [r.view() for r in recorder.all()], "dir": str(recorder.dir)}


@handler("getRecording")
def get_recording(ctx: "Ctx") -> dict[str, Any]:
    return _recorder(ctx).get(ctx.params["recording_id"]).view()


@handler("stopRecording")
def stop_recording(ctx: "Ctx") -> dict[str, Any]:
    return _recorder(ctx).stop(ctx.state, ctx.params["recording_id"]).view()
