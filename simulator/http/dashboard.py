"""The dashboard's server side: the static pages (``/`` and ``/api``, plain JS shipped in the package, nothing from a
CDN), the world list, and what its ``/_sim`` reads compute (a card's life as state bands, the event stream).

The pages themselves need no token; every piece of data they show comes from ``/_sim`` behind the admin token
(typed into the login form or given in the URL fragment, ``/#token=…``, which never reaches the server's logs).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import views

if TYPE_CHECKING:
    from ..simulation import Simulation
    from .app import ServerState

STATIC = Path(__file__).with_name("static")
PAGES = {"/": "index.html", "/api": "api.html"}
ASSETS = ("dashboard.js", "dashboard.css", "api.js")
STREAM_SECONDS = 25.0  # a stream ends after this long; the page reconnects from the last event id
STREAM_POLL = 0.2
STREAM_BATCH = 500


def mount_pages(app: web.Application) -> None:
    def page(name: str, content_type: str) -> Any:
        async def serve(_: web.Request) -> web.Response:
            return web.Response(body=(STATIC / name).read_bytes(), content_type=content_type,
                                headers={"Cache-Control": "no-cache"})
        return serve

    for path, name in PAGES.items():
        app.router.add_get(path, page(name, "text/html"))
    for name in ASSETS:
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        app.router.add_get(f"/dashboard/{name}", page(name, kind))


# ---------------------------------------------------------------------------------------------- a card's life

def bands(sim: "Simulation", iccid: str) -> list[dict[str, Any]]:
    """The card's states and reasons over simulated time: one band per state change (LIFE-4), the last open."""
    history = sim.history(iccid)
    card = sim.card(iccid)
    out: list[dict[str, Any]] = []
    changes = [e for e in history if e.new_state is not None]
    first = changes[0].old_state if changes and changes[0].old_state is not None else card.state
    out.append({"state": first.label, "reasons": [], "from": views.iso(card.opened_at), "to": None})
    for e in changes:
        assert e.new_state is not None
        reasons = e.reasons.names() if e.reasons is not None else []
        if out and out[-1]["state"] == e.new_state.label and out[-1]["reasons"] == reasons:
            continue
        out[-1]["to"] = views.iso(e.time)
        out.append({"state": e.new_state.label, "reasons": reasons, "from": views.iso(e.time), "to": None})
    if len(out) > 1 and out[0]["from"] == out[0]["to"]:
        out.pop(0)
    return out


def life(sim: "Simulation", iccid: str) -> dict[str, Any]:
    card = sim.card(iccid)
    view = views.card(card)
    usage = view["usage"] or views.EMPTY_USAGE
    cycles = [{"cycle": "current", "from": view["term_start"], "used_mb": usage["quota_used_mb"],
               "quota_mb": usage["quota_mb"] + usage.get("addon_mb", 0.0)}]
    alerts = [views.event(e) for e in sim.history(iccid) if e.kind.label == "alert"]
    deadlines = {"term_end": view["term_end"], "retention_until": view["retention_until"],
                 "real_name_deadline": view["real_name_deadline"],
                 "pending_change": view["pending_change"], "cancellation": view["cancellation"]}
    return {"card": view, "bands": bands(sim, iccid), "history": [views.event(e) for e in sim.history(iccid)],
            "ledger": [views.ledger_entry(e) for e in sim.ledger(iccid)], "cycles": cycles, "alerts": alerts,
            "deadlines": deadlines, "now": sim.iso(sim.now)}


def search(sim: "Simulation", query: dict[str, Any]) -> dict[str, Any]:
    q = str(query.get("q", "")).strip()
    pool = query.get("pool")
    members: set[str] | None = None
    if pool:
        found = sim.engine.pools.get(pool)
        members = {c.iccid for c in found.members} if found is not None else set()
    start = int(query.get("cursor") or 0)
    limit = int(query.get("limit") or 50)
    items: list[dict[str, Any]] = []
    total = 0
    for card in sim.cards(query.get("account") or None, carrier=query.get("carrier") or None) \
            if not query.get("account") or sim.has_account(query["account"]) else iter(()):
        if q and q not in card.iccid and q not in card.msisdn:
            continue
        if query.get("state") and card.state.label != query["state"]:
            continue
        if query.get("reason") and query["reason"] not in card.reasons.names():
            continue
        if members is not None and card.iccid not in members:
            continue
        if start <= total < start + limit:
            items.append(views.card(card))
        total += 1
    nxt = str(start + limit) if start + limit < total else None
    return {"items": items, "next_cursor": nxt, "total": total}


def overview(sim: "Simulation") -> dict[str, Any]:
    by: dict[str, dict[str, int]] = {c: {} for c in sim.carrier_ids()}
    for (carrier, st), n in sorted(sim.count_cards().items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        by.setdefault(carrier, {})[st.label] = n
    return {"now": sim.iso(sim.now), "total": sum(sum(v.values()) for v in by.values()), "by_carrier": by,
            "accounts": sorted(sim.engine.accounts), "pools": sorted(sim.engine.pools)}


# ---------------------------------------------------------------------------------------------- live events

class EventStream(web.StreamResponse):
    """``text/event-stream`` of the world's events from a cursor: each event as ``id: <next cursor>``, ``event:
    <kind>``, ``data: <Event JSON>``; a reset of the world is an event ``reset``. The stream ends after
    ``STREAM_SECONDS`` and the page reconnects with the last id (``Last-Event-ID`` or ``?cursor``)."""

    def __init__(self, state: "ServerState", cursor: int | None) -> None:
        super().__init__(status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                              "X-Accel-Buffering": "no"})
        self.state, self.cursor = state, cursor

    async def prepare(self, request: web.BaseRequest) -> Any:  # aiohttp prepares a returned response: stream here
        writer = await super().prepare(request)
        state = self.state
        sim = state.sim
        cursor = self.cursor
        last = request.headers.get("Last-Event-ID", "")
        if last.isdigit():
            cursor = int(last)
        if cursor is None or cursor > sim.event_count():
            cursor = max(0, sim.event_count() - 50)
        await self.write(b"retry: 500\n\n")
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        try:
            while loop.time() < ends:
                if state.sim is not sim:
                    sim, cursor = state.sim, 0
                    await self.write(b"event: reset\ndata: {}\n\n")
                events, nxt = sim.events_since(cursor, STREAM_BATCH)
                if events:
                    chunk = []
                    for e in events:
                        data = json.dumps(views.event(e), ensure_ascii=False)
                        chunk.append(f"id: {e.seq + 1}\nevent: {e.kind.label}\ndata: {data}\n\n")
                    cursor = nxt
                    await self.write("".join(chunk).encode())
                else:
                    await asyncio.sleep(STREAM_POLL)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return writer
