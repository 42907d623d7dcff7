"""The dashboard's server side: the pages (no token, no CDN), /healthz's world count, and the /_sim reads the
pages use (worlds, overview, search, a card's life as bands, the event stream), all behind the admin token."""

from __future__ import annotations

import asyncio

import carriersim
from carriersim.simulator.http import dashboard

from .apihelp import ADMIN, account, ok


async def _walk(client):
    acme = await account(client)
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20",
                                                         "auto_renew": False}, headers=acme["H"]), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={"imei": "490154203237518"},
                               headers=acme["H"]))
    return acme, card["iccid"]


async def test_healthz_counts_the_worlds(client):
    assert await ok(await client.get("/healthz")) == {"ready": True, "version": carriersim.__version__, "worlds": 1}


async def test_pages_are_served_from_the_package_without_a_token_and_without_a_cdn(client):
    for path in ("/", "/api", "/dashboard/dashboard.js", "/dashboard/api.js", "/dashboard/dashboard.css"):
        resp = await client.get(path)
        text = await resp.text()
        assert resp.status == 200, path
        assert "http://" not in text and "https://" not in text, f"{path} loads something from the network"
    assert (await client.get("/_sim/overview")).status == 401  # the data is behind the token


async def test_a_cards_life_shows_retained_then_cancelled_bands(client):
    acme, iccid = await _walk(client)
    await ok(await client.post("/_sim/clock/advance", json={"by": "4 months"}, headers=ADMIN))
    life = await ok(await client.get(f"/_sim/cards/{iccid}/life", headers=ADMIN))
    states = [b["state"] for b in life["bands"]]
    assert states[-2:] == ["retained", "cancelled"] and "active" in states
    assert life["bands"][-1]["to"] is None and life["ledger"][-1]["balance"] == life["card"]["balance"]
    assert life["deadlines"]["retention_until"]


async def test_search_filters_and_overview(client):
    acme, iccid = await _walk(client)
    over = await ok(await client.get("/_sim/overview", headers=ADMIN))
    assert over["total"] == 1 and over["by_carrier"]["cmcc"] == {"active": 1} and over["accounts"] == [acme["id"]]
    found = await ok(await client.get(f"/_sim/cards?q={iccid[-6:]}", headers=ADMIN))
    assert [c["iccid"] for c in found["items"]] == [iccid] and found["total"] == 1
    assert (await ok(await client.get("/_sim/cards?state=retained", headers=ADMIN)))["total"] == 0
    assert (await ok(await client.get(f"/_sim/cards?account={acme['id']}&carrier=cmcc", headers=ADMIN)))["total"] == 1
    assert (await ok(await client.get("/_sim/cards?account=nobody", headers=ADMIN)))["total"] == 0
    worlds = await ok(await client.get("/_sim/worlds", headers=ADMIN))
    assert worlds["items"][0]["id"] == "default" and worlds["items"][0]["cards"] == 1


async def test_events_stream_as_server_sent_events(client, monkeypatch):
    monkeypatch.setattr(dashboard, "STREAM_SECONDS", 0.6)
    acme, iccid = await _walk(client)
    resp = await client.get("/_sim/events/stream?cursor=0", headers=ADMIN)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    text = (await resp.read()).decode()
    assert "event: card_opened" in text and "id: 1\n" in text
    resumed = await client.get("/_sim/events/stream", headers={**ADMIN, "Last-Event-ID": "1"})
    assert "id: 1\n" not in (await resumed.read()).decode()
    feed = await ok(await client.get("/_sim/events?cursor=0&limit=2", headers=ADMIN))
    assert len(feed["items"]) == 2 and feed["next_cursor"] == 2
    await asyncio.sleep(0)
