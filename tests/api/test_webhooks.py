"""Webhooks against a real local HTTP receiver (an aiohttp app on 127.0.0.1, port chosen by the OS).

What a platform relies on: every delivery is signed (``Carriersim-Signature`` verifies with the subscription's
secret, and a tampered body does not); a receiver that fails gets the event again, and the events behind it, once
it recovers — none lost, none duplicated; events of one card arrive in order; a webhook only ever sees its own
account's events; deleting it stops deliveries; and the events feed (``GET /v1/events?cursor=``) tells the same
story as the webhook. The carriersim app runs with ``webhook_backoff=0.02`` so retries take milliseconds; every
wait for something to happen is a poll with a deadline (the only fixed sleeps are short windows checking that
nothing more arrives).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from aiohttp import web

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import STATE
from carriersim.simulator.http.feed import account_events
from carriersim.simulator.http.webhooks import SIGNATURE_HEADER, WebhookHub, sign, verify

from .apihelp import account, advance, open_active, open_card, usage

# ---------------------------------------------------------------------------------------------------- receiver


@dataclass
class Hit:
    status: int  # what the receiver answered
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint. ``script`` is the status to answer for the first requests (then 200)."""

    script: list[int] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Hit]:
        return [h for h in self.hits if 200 <= h.status < 300]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [h.payload["event"] for h in self.accepted]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.script.pop(0) if self.script else 200
        self.hits.append(Hit(status, dict(request.headers), body))
        return web.Response(status=status, text="ok" if status < 300 else "boom")

    async def start(self, port: int = 0) -> "Receiver":
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def receivers():
    made: list[Receiver] = []

    async def make(script: list[int] | None = None) -> Receiver:
        rec = await Receiver(list(script or [])).start()
        made.append(rec)
        return rec

    yield make
    for rec in made:
        await rec.stop()


async def until(cond: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


# ---------------------------------------------------------------------------------------------------- carriersim


class World:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def account(self, name: str) -> dict[str, str]:
        return (await account(self.client, name))["H"]

    async def card(self, h: dict[str, str], *, activate: bool = True, **options: Any) -> str:
        options = {"payment": "20", **options}
        if activate:
            return await open_active(self.client, h, **options)
        return (await open_card(self.client, h, **options))["iccid"]

    async def webhook(self, h: dict[str, str], url: str) -> dict[str, Any]:
        r = await self.client.post("/v1/webhooks", json={"url": url}, headers=h)
        assert r.status == 201, await r.text()
        return await r.json()

    async def usage(self, iccid: str, mb: float) -> dict[str, Any]:
        return await usage(self.client, iccid, mb=mb)

    async def advance(self, by: str) -> None:
        await advance(self.client, by=by)

    async def feed(self, h: dict[str, str], cursor: int, limit: int = 7) -> list[dict[str, Any]]:
        """Every event from ``cursor`` on, read page by page (a small page size so the cursor is exercised)."""
        out: list[dict[str, Any]] = []
        while True:
            r = await self.client.get("/v1/events", params={"cursor": cursor, "limit": limit}, headers=h)
            assert r.status == 200, await r.text()
            page = await r.json()
            if not page["items"]:  # the scan reached the end of the log
                return out
            out += page["items"]
            assert page["next_cursor"] > cursor
            cursor = page["next_cursor"]

    async def hooks(self, h: dict[str, str]) -> dict[str, dict[str, Any]]:
        r = await self.client.get("/v1/webhooks", headers=h)
        assert r.status == 200
        return {w["id"]: w for w in (await r.json())["items"]}


@pytest.fixture
async def world(aiohttp_client) -> World:
    app = create_app(Simulation(seed=1), admin_token="admin", webhook_backoff=0.02)
    return World(await aiohttp_client(app))


async def lifecycle(w: World, h: dict[str, str]) -> str:
    """Open and activate a card, run it over quota, then move a month on (the cycle start lifts `quota`)."""
    iccid = await w.card(h)
    result = await w.usage(iccid, 150)
    assert result["state"] == "suspended" and "quota" in result["reasons"]
    await w.advance("1 month")
    return iccid


def assert_same_events(delivered: list[dict[str, Any]], feed: list[dict[str, Any]]) -> None:
    assert [e["seq"] for e in delivered] == [e["seq"] for e in feed]
    assert delivered == feed


# ---------------------------------------------------------------------------------------------------- tests


async def test_every_delivery_is_signed_and_a_tampered_body_fails(world, receivers):
    rec = await receivers()
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    assert hook["secret"].startswith("whsec_") and hook["url"] == rec.url
    iccid = await lifecycle(world, h)
    expected = await world.feed(h, hook["cursor"])
    kinds = {e["kind"] for e in expected}
    assert {"card_opened", "state_changed", "charge", "alert"} <= kinds, kinds
    await until(lambda: len(rec.accepted) >= len(expected), what="every event delivered")

    assert len(rec.hits) == len(expected)  # nothing failed, so nothing was retried
    for hit in rec.hits:
        header = hit.headers[SIGNATURE_HEADER]
        assert verify(hook["secret"], hit.body, header)
        assert not verify(hook["secret"], hit.body + b" ", header)
        assert not verify(hook["secret"], hit.body.replace(iccid.encode(), iccid[:-1].encode() + b"0"), header)
        assert not verify("whsec_" + "0" * 32, hit.body, header)
        assert hit.headers["Content-Type"] == "application/json"
        payload = hit.payload
        assert hit.headers["Carriersim-Event"] == payload["event"]["kind"]
        assert hit.headers["Carriersim-Delivery"] == str(payload["delivery"])
    assert_same_events(rec.events, expected)


def test_verify_refuses_stale_malformed_and_foreign_signatures():
    secret, body = "whsec_test", b'{"delivery": 1}'
    now = int(time.time())
    assert verify(secret, body, sign(secret, body, now))
    assert not verify(secret, body, sign(secret, body, now - 301))  # replayed long after
    assert verify(secret, body, sign(secret, body, now - 301), tolerance=None)
    assert not verify(secret, body, sign("whsec_other", body, now))
    t, v1 = sign(secret, body, now).split(",")
    assert not verify(secret, body, f"{t},v1={'0' * 64}")
    for bad in ("", "garbage", "t=x,v1=ab", v1, t, "t=,v1="):
        assert not verify(secret, body, bad), bad


async def test_receiver_failing_twice_gets_the_event_and_those_behind_it_once(world, receivers):
    rec = await receivers(script=[500, 500])
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    await lifecycle(world, h)
    expected = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(expected), what="recovery")
    # the first event was offered three times (500, 500, 200), unchanged; then each of the rest once
    first = [hit for hit in rec.hits if hit.payload["delivery"] == expected[0]["seq"]]
    assert [hit.status for hit in first] == [500, 500, 200]
    assert first[0].body == first[1].body == first[2].body
    assert all(verify(hook["secret"], hit.body, hit.headers[SIGNATURE_HEADER]) for hit in rec.hits)
    deliveries = [hit.payload["delivery"] for hit in rec.accepted]
    assert len(deliveries) == len(set(deliveries)), "a delivery arrived twice"
    assert_same_events(rec.events, expected)
    assert len(rec.hits) == len(expected) + 2
    await asyncio.sleep(0.05)  # several backoff periods: nothing more is sent once everything was acknowledged
    assert len(rec.hits) == len(expected) + 2
    view = (await world.hooks(h))[hook["id"]]
    assert view["delivered"] == len(expected) and view["failures"] == 2 and "last_error" not in view


async def test_receiver_down_then_up_gets_everything_in_order(world, receivers):
    rec = await receivers()
    port = rec.port
    await rec.stop()  # connection refused from now on
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    await lifecycle(world, h)

    async def failed_twice() -> bool:
        return (await world.hooks(h))[hook["id"]]["failures"] >= 2

    deadline = time.monotonic() + 5
    while not await failed_twice():
        assert time.monotonic() < deadline, "no delivery attempts"
        await asyncio.sleep(0.01)
    view = (await world.hooks(h))[hook["id"]]
    assert view["delivered"] == 0 and view["last_error"]
    await rec.start(port)
    expected = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(expected), what="recovery after the outage")
    assert_same_events(rec.events, expected)
    assert len(rec.hits) == len(expected)


async def test_order_holds_per_card_with_interleaved_activity(world, receivers):
    rec = await receivers(script=[500])
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    cards = [await world.card(h) for _ in range(3)]
    for mb in (50, 40, 30):
        for iccid in cards:
            await world.usage(iccid, mb)
    await world.advance("1 month")
    expected = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(expected), what="deliveries")
    assert_same_events(rec.events, expected)
    by_card: dict[str, list[int]] = {}
    for event in rec.events:
        by_card.setdefault(event["iccid"], []).append(event["seq"])
    assert set(by_card) == set(cards)
    for iccid, seqs in by_card.items():
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), iccid
    # each card crossed 80 %, 90 % and 100 %: three alerts apiece, in threshold order
    for iccid in cards:
        alerts = [e["detail"] for e in rec.events if e["kind"] == "alert" and e["iccid"] == iccid]
        assert len(alerts) == 3, alerts


async def test_a_webhook_sees_only_its_own_accounts_events(world, receivers):
    rec_a, rec_b = await receivers(), await receivers()
    ha, hb = await world.account("Acme"), await world.account("Other")
    hook_a = await world.webhook(ha, rec_a.url)
    hook_b = await world.webhook(hb, rec_b.url)
    a_cards = {await world.card(ha), await world.card(ha)}
    b_cards = {await world.card(hb)}
    # each account also has a pool: pool alerts belong to no card (iccid null) but still to one account
    pools = {}
    for h, iccid in ((ha, min(a_cards)), (hb, min(b_cards))):
        r = await world.client.post("/v1/pools", json={"carrier": "cmcc", "name": "p"}, headers=h)
        assert r.status == 201, await r.text()
        pools[iccid] = (await r.json())["id"]
        r = await world.client.post(f"/v1/pools/{pools[iccid]}/members", json={"iccid": iccid}, headers=h)
        assert r.status == 200, await r.text()
    for iccid in a_cards | b_cards:
        await world.usage(iccid, 95)
    await world.advance("1 month")
    feed_a = await world.feed(ha, hook_a["cursor"])
    feed_b = await world.feed(hb, hook_b["cursor"])
    await until(lambda: len(rec_a.accepted) >= len(feed_a) and len(rec_b.accepted) >= len(feed_b))
    assert_same_events(rec_a.events, feed_a)
    assert_same_events(rec_b.events, feed_b)
    pool_alerts_a = [e for e in rec_a.events if e["iccid"] is None]
    pool_alerts_b = [e for e in rec_b.events if e["iccid"] is None]
    assert pool_alerts_a and {e["detail"]["pool"] for e in pool_alerts_a} == {pools[min(a_cards)]}
    assert pool_alerts_b and {e["detail"]["pool"] for e in pool_alerts_b} == {pools[min(b_cards)]}
    assert {e["iccid"] for e in rec_a.events} - {None} == a_cards
    assert {e["iccid"] for e in rec_b.events} - {None} == b_cards
    account_a = {hit.payload["account"] for hit in rec_a.accepted}
    account_b = {hit.payload["account"] for hit in rec_b.accepted}
    assert len(account_a) == len(account_b) == 1 and account_a != account_b
    # the other account cannot see, list or delete the webhook
    assert set(await world.hooks(hb)) == {hook_b["id"]}
    r = await world.client.delete(f"/v1/webhooks/{hook_a['id']}", headers=hb)
    assert r.status == 404 and (await r.json())["code"] == "webhook_not_found"
    assert set(await world.hooks(ha)) == {hook_a["id"]}


async def test_events_before_registration_are_not_delivered(world, receivers):
    rec = await receivers()
    h = await world.account("Acme")
    old = await world.card(h)
    hook = await world.webhook(h, rec.url)
    assert hook["cursor"] > 0
    new = await world.card(h)
    expected = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(expected))
    assert {e["iccid"] for e in rec.events} == {new}
    assert all(e["seq"] >= hook["cursor"] for e in rec.events)
    assert old not in {e["iccid"] for e in rec.events}


async def test_deleting_a_webhook_stops_its_deliveries(world, receivers):
    gone, kept = await receivers(), await receivers()
    h = await world.account("Acme")
    hook = await world.webhook(h, gone.url)
    iccid = await world.card(h)
    first = await world.feed(h, hook["cursor"])
    await until(lambda: len(gone.accepted) >= len(first))
    r = await world.client.delete(f"/v1/webhooks/{hook['id']}", headers=h)
    assert r.status == 204
    assert hook["id"] not in await world.hooks(h)
    r = await world.client.delete(f"/v1/webhooks/{hook['id']}", headers=h)
    assert r.status == 404
    # a second webhook registered now is the witness: once it has the later events, the deleted one would have too
    witness = await world.webhook(h, kept.url)
    await world.usage(iccid, 150)
    await world.advance("1 month")
    later = await world.feed(h, witness["cursor"])
    assert later
    await until(lambda: len(kept.accepted) >= len(later))
    assert_same_events(kept.events, later)
    assert_same_events(gone.events, first)


async def test_deleting_a_webhook_while_it_retries_stops_the_retries(world, receivers):
    rec = await receivers(script=[500] * 1000)
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    await world.card(h)
    await until(lambda: len(rec.hits) >= 2, what="retries")
    task = world.client.server.app[STATE].webhooks.subs[hook["id"]].task
    r = await world.client.delete(f"/v1/webhooks/{hook['id']}", headers=h)
    assert r.status == 204
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 2)
    assert task.cancelled()
    await asyncio.sleep(0.02)  # a request already on the wire may still land
    n = len(rec.hits)
    await asyncio.sleep(0.1)  # longer than the backoff so far: a live worker would have tried again
    assert len(rec.hits) == n and not rec.accepted


async def test_feed_and_webhook_agree_across_a_month_of_activity(world, receivers):
    rec = await receivers(script=[500, 503, 500])
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    a = await world.card(h)
    b = await world.card(h, auto_renew=False, payment="5")  # no balance left: expires at the cycle start
    await world.usage(a, 99)
    await world.advance("1 month")
    await world.usage(a, 100)
    await world.advance("1 month")
    feed = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(feed))
    assert_same_events(rec.events, feed)
    assert any(e["kind"] == "expired" and e["iccid"] == b for e in feed)
    # the webhook's own cursor has reached the end of the log
    view = (await world.hooks(h))[hook["id"]]
    assert view["delivered"] == len(feed) and view["failures"] == 3
    r = await world.client.get("/v1/events", params={"cursor": 0, "limit": 1000}, headers=h)
    assert view["cursor"] == (await r.json())["next_cursor"]


def test_backoff_doubles_up_to_the_cap_and_survives_a_thousand_failures():
    hub = WebhookHub(lambda: Simulation(seed=1), backoff=0.5, max_backoff=60.0)
    assert [hub.delay(n) for n in (1, 2, 3, 4, 7, 8)] == [0.5, 1.0, 2.0, 4.0, 32.0, 60.0]
    # a receiver down for a weekend: attempt 1025 would need 2**1024, which no float holds
    assert hub.delay(1025) == hub.delay(10**6) == 60.0


async def test_an_internal_failure_does_not_end_the_subscription(world, receivers, monkeypatch, caplog):
    from carriersim.simulator.http import webhooks

    real = webhooks.account_events
    calls = {"n": 0}

    def flaky(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated bug while reading the log")
        return real(*args)

    monkeypatch.setattr(webhooks, "account_events", flaky)
    rec = await receivers()
    h = await world.account("Acme")
    hook = await world.webhook(h, rec.url)
    await world.card(h)
    expected = await world.feed(h, hook["cursor"])
    await until(lambda: len(rec.accepted) >= len(expected), what="delivery after the worker's failure")
    assert calls["n"] > 2
    assert_same_events(rec.events, expected)
    assert "worker failed" in caplog.text


async def test_a_hub_started_after_registration_delivers_what_was_registered(receivers):
    """Subscriptions made before the hub runs (an app built, then served) get their workers at start."""
    rec = await receivers()
    sim = Simulation(seed=1)
    hub = WebhookHub(lambda: sim, backoff=0.02)
    account = sim.create_account("Acme", verified=True)
    sub = hub.register(account, rec.url)
    assert sub.task is None
    sim.open_card(account, "cmcc", "CMCC-M100")
    await hub.start()
    try:
        expected, _ = account_events(sim, account, 0, 1000)
        assert expected[0]["kind"] == "card_opened"
        await until(lambda: len(rec.accepted) >= len(expected))
        assert_same_events(rec.events, expected)
    finally:
        await hub.stop()
    assert hub.subs == {}
