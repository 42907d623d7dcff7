"""Worlds (issue 11): many isolated simulations on one server.

Creating, listing, reading and deleting worlds; a world's own clock, token, keys and carriers (shipped ids and
inline profile documents); routing by key alone; the limits (--max-worlds, idle ttl) as problems with clear codes;
the default world unchanged under the plain /_sim routes; a long advance in one world leaving the others served.
"""

from __future__ import annotations

import asyncio
import copy
import time

import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import STATE, WORLDS
from carriersim.simulator.profile import builtin_profile

from .apihelp import ADMIN, imei, ok, refused
from .test_webhooks import receivers, until  # noqa: F401  (receivers is a fixture)


async def new_world(client, **body):
    return await ok(await client.post("/_sim/worlds", json=body, headers=ADMIN), 201)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def world_account(client, world, name="Acme"):
    data = await ok(await client.post(f"{world['control']}/accounts", json={"name": name, "verified": True},
                                      headers=bearer(world["admin_token"])), 201)
    return data["account"]["id"], bearer(data["api_key"])


async def test_a_world_has_its_own_clock_token_and_keys(client):
    world = await new_world(client, seed=7, start="2027-03-01T00:00:00+08:00")
    assert world["id"].startswith("w") and world["admin_token"].startswith("csw_")
    assert world["control"] == f"/_sim/worlds/{world['id']}"
    assert world["clock"] == {"now": "2027-03-01T00:00:00+08:00", "mode": "frozen", "rate": 86400.0}
    W = bearer(world["admin_token"])
    _, key = await world_account(client, world)
    assert key["Authorization"].startswith(f"Bearer csk_{world['id']}_")
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20",
                                                         "auto_renew": False}, headers=key), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={"imei": imei()}, headers=key))
    await ok(await client.post(f"{world['control']}/clock/advance", json={"by": "1 month"}, headers=W))
    assert (await ok(await client.get(f"{world['control']}/clock", headers=W)))["now"] == \
        "2027-04-01T00:00:00+08:00"
    # the default world did not move and has no such card
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-01-01T00:00:00+08:00"
    assert client.app[STATE].sim.digest() == Simulation(seed=1).digest()
    # the card is the world's, read with the key alone
    got = await ok(await client.get(f"/v1/cards/{card['iccid']}", headers=key))
    assert got["state"] == "retained" and got["reasons"] == ["expired"]
    # the world's token opens nothing of the default world, the default world's token nothing inside the world
    await refused(await client.get("/_sim/clock", headers=W), 401, "unauthorized")
    await refused(await client.get(f"{world['control']}/clock", headers=ADMIN), 401, "unauthorized")
    # but the server's token manages it
    seen = await ok(await client.get(f"/_sim/worlds/{world['id']}", headers=ADMIN))
    assert seen["accounts"] == 1 and seen["cards"] == 1 and seen["clock"]["now"] == "2027-04-01T00:00:00+08:00"
    assert [w["id"] for w in (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"]] == \
        ["default", world["id"]]


async def test_deleting_a_world_leaves_nothing_that_answers(client):
    world = await new_world(client)
    W = bearer(world["admin_token"])
    _, key = await world_account(client, world)
    await ok(await client.delete(f"/_sim/worlds/{world['id']}", headers=W), 204)
    await refused(await client.get("/v1/account", headers=key), 401, "unauthorized")
    await refused(await client.get(f"{world['control']}/clock", headers=W), 401, "unauthorized")
    body = await refused(await client.get(f"/_sim/worlds/{world['id']}", headers=ADMIN), 404, "world_not_found")
    assert "GET /_sim/worlds" in body["detail"]
    await refused(await client.delete(f"/_sim/worlds/{world['id']}", headers=ADMIN), 404, "world_not_found")
    assert (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"][1:] == []


async def test_the_default_world_is_a_world_too_but_not_deletable(client):
    assert (await ok(await client.get("/_sim/worlds/default/clock", headers=ADMIN)))["now"] == \
        "2027-01-01T00:00:00+08:00"
    body = await refused(await client.delete("/_sim/worlds/default", headers=ADMIN), 409, "default_world")
    assert "/_sim/reset" in body["detail"]


async def test_worlds_take_carriers_by_id_and_as_inline_documents(client):
    doc = copy.deepcopy(builtin_profile("cmcc").raw)
    doc.update(id="acme", name="Acme Mobile")
    doc["retention"]["months"] = 4
    world = await new_world(client, profiles=["cucc", doc])
    assert world["carriers"] == ["cucc", "acme"]
    W = bearer(world["admin_token"])
    profile = await ok(await client.get(f"{world['control']}/carriers/acme/profile", headers=W))
    assert profile["retention"]["months"] == 4
    await refused(await client.get(f"{world['control']}/carriers/cmcc/profile", headers=W), 404,
                  "carrier_not_found")
    # the server's other worlds do not know the inline carrier
    await refused(await client.get("/_sim/carriers/acme/profile", headers=ADMIN), 404, "carrier_not_found")


@pytest.mark.parametrize("body, code, words", [
    ({"profiles": ["nope"]}, "invalid_input", "no carrier 'nope'"),
    ({"profiles": ["cmcc", "cmcc"]}, "invalid_input", "given twice"),
    ({"profiles": [{"id": "x"}]}, "invalid_profile", "profiles/0"),
    ({"start": "yesterday-ish"}, "invalid_input", None),
    ({"start": "9999-01-01T00:00:00+08:00"}, "invalid_input", "between 1900"),
    ({"ttl": 0}, "invalid_body", "ttl"),
    ({"clock": {"mode": "fast"}}, "invalid_body", "clock/mode"),
    ({"fleet": -1}, "invalid_body", "fleet"),
    ({"colour": "blue"}, "invalid_body", "colour"),
])
async def test_a_bad_world_request_says_what_is_wrong(client, body, code, words):
    problem = await refused(await client.post("/_sim/worlds", json=body, headers=ADMIN), 422, code)
    if words:
        assert words in problem["detail"], problem
    assert (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"][1:] == []


async def test_only_the_server_token_creates_and_lists_worlds(client):
    world = await new_world(client)
    for method, path in (("POST", "/_sim/worlds"), ("GET", "/_sim/worlds")):
        await refused(await client.request(method, path, json={}, headers=bearer(world["admin_token"])), 401,
                      "unauthorized")


async def test_the_world_limit_is_a_clear_refusal(aiohttp_client):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", max_worlds=2))
    first = await new_world(client)
    await new_world(client)
    body = await refused(await client.post("/_sim/worlds", json={}, headers=ADMIN), 409, "world_limit_reached")
    assert "--max-worlds" in body["detail"] and body["max_worlds"] == 2
    await ok(await client.delete(f"/_sim/worlds/{first['id']}", headers=ADMIN), 204)
    await new_world(client)  # room again


async def test_an_idle_world_expires_and_a_used_one_does_not(aiohttp_client):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin"))
    idle = await new_world(client, ttl=1)
    busy = await new_world(client, ttl=1)
    assert idle["ttl"] == 1 and idle["expires_in"] == 1
    B = bearer(busy["admin_token"])
    for _ in range(6):
        await asyncio.sleep(0.25)
        await ok(await client.get(f"{busy['control']}/clock", headers=B))
    await refused(await client.get(f"{idle['control']}/clock", headers=bearer(idle["admin_token"])), 401,
                  "unauthorized")
    await refused(await client.get(f"/_sim/worlds/{idle['id']}", headers=ADMIN), 404, "world_not_found")
    assert [w["id"] for w in (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"]] == \
        ["default", busy["id"]]


async def test_the_server_ttl_applies_unless_a_world_asks_for_its_own(aiohttp_client):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", world_ttl=0))
    forever = await new_world(client)
    assert forever["ttl"] is None and forever["expires_in"] is None
    assert (await new_world(client, ttl=600))["ttl"] == 600


async def test_a_fleet_comes_with_its_keys(client):
    world = await new_world(client, fleet=120, seed=3)
    assert world["fleet"]["cards"] == 120 and world["cards"] == 120
    key = bearer(world["fleet"]["accounts"][0]["api_key"])
    page = await ok(await client.get("/v1/cards?limit=5", headers=key))
    assert len(page["items"]) == 5


async def test_an_accelerated_world_runs_while_another_stands_still(client):
    fast = await new_world(client, clock={"mode": "accelerated", "rate": 86400})
    still = await new_world(client)
    await asyncio.sleep(1.2)
    fast_now = (await ok(await client.get(f"{fast['control']}/clock", headers=bearer(fast["admin_token"]))))["now"]
    still_now = (await ok(await client.get(f"{still['control']}/clock",
                                           headers=bearer(still["admin_token"]))))["now"]
    assert fast_now >= "2027-01-02T00:00:00+08:00" and still_now == "2027-01-01T00:00:00+08:00"
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-01-01T00:00:00+08:00"


async def test_reset_inside_a_world_keeps_it_a_world_of_its_own(client):
    world = await new_world(client)
    W = bearer(world["admin_token"])
    _, old_key = await world_account(client, world)
    await ok(await client.post(f"{world['control']}/reset", json={"seed": 9}, headers=W))
    await refused(await client.get("/v1/account", headers=old_key), 401, "unauthorized")
    _, new_key = await world_account(client, world)
    assert new_key["Authorization"].startswith(f"Bearer csk_{world['id']}_") and new_key != old_key
    assert (await ok(await client.get("/v1/account", headers=new_key)))["id"] == "acc-0001"


async def test_worlds_with_the_same_seed_have_different_keys(client):
    a, b = await new_world(client, seed=1), await new_world(client, seed=1)
    _, ka = await world_account(client, a)
    _, kb = await world_account(client, b)
    assert ka != kb
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100",
                                                         "payment": "20"}, headers=ka), 201)
    await refused(await client.get(f"/v1/cards/{card['iccid']}", headers=kb), 404, "card_not_found")


async def test_faults_and_maintenance_stay_in_their_world(client):
    a, b = await new_world(client), await new_world(client)
    _, ka = await world_account(client, a)
    _, kb = await world_account(client, b)
    await ok(await client.post(f"{a['control']}/faults", json={"route": "/v1/*", "error_rate": 1, "status": 503},
                               headers=bearer(a["admin_token"])), 201)
    await ok(await client.post(f"{b['control']}/carriers/cmcc/maintenance", json={"duration": "1 hour"},
                               headers=bearer(b["admin_token"])))
    assert (await client.get("/v1/account", headers=ka)).status == 503
    await ok(await client.get("/v1/account", headers=kb))
    await refused(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20"},
                                    headers=kb), 503, "carrier_unavailable")
    assert await ok(await client.get("/_sim/faults", headers=ADMIN)) == {"items": []}


async def test_a_long_advance_in_one_world_does_not_stop_the_others(client):
    """The advance runs in a worker thread: another world's reads keep being answered meanwhile."""
    # with the bulk cohort jobs, 12 months of 20,000 cards took 0.16 s (and ten years of 40,000, 0.35 s): too
    # short to show anything, so two years of 120,000
    heavy = await new_world(client, fleet=120_000, seed=2)
    light = await new_world(client)
    _, key = await world_account(client, light)
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20"},
                                      headers=key), 201)
    started = time.perf_counter()
    advance = asyncio.ensure_future(client.post(f"{heavy['control']}/clock/advance", json={"by": "24 months"},
                                                headers=bearer(heavy["admin_token"])))
    answered, slowest = 0, 0.0
    while not advance.done():
        t = time.perf_counter()
        await ok(await client.get(f"/v1/cards/{card['iccid']}", headers=key))
        slowest = max(slowest, time.perf_counter() - t)
        answered += 1
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started
    await ok(await advance)
    assert took > 0.3, "the advance was too short to show anything"
    # on the event loop the advance would hold every GET until it ended: here they keep coming, each far quicker
    # than the advance (bench/worlds.py measures the p99 on 100,000 cards)
    assert answered >= 5 and slowest < took / 3, (answered, slowest, took)
    # and a request to the heavy world waited for its advance: it sees the settled world
    seen = await ok(await client.get(f"/_sim/worlds/{heavy['id']}", headers=ADMIN))
    assert seen["clock"]["now"] == "2029-01-01T00:00:00+08:00"


async def test_the_registry_is_on_the_app_for_other_apis(client):
    worlds = client.app[WORLDS]
    world = await new_world(client)
    _, key = await world_account(client, world)
    state, account = worlds.for_key(key["Authorization"].split()[1])
    assert state.id == world["id"] and account == "acc-0001"
    assert worlds.for_key("csk_wffffffffff_0123") is None and worlds.for_key(None) is None
    assert worlds.get("default") is client.app[STATE]


async def test_a_created_worlds_webhooks_deliver_after_advances_and_a_restore(aiohttp_client, receivers, tmp_path):
    """World creation, advances and restores run in worker threads; webhook workers live on the event loop:
    deliveries still start, wake and resume (a restore re-creates the subscriptions)."""
    from carriersim.simulator.http.webhooks import verify

    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(tmp_path / "w.db"),
                                             webhook_backoff=0.01))
    rec = await receivers()
    world = await new_world(client)
    W = bearer(world["admin_token"])
    _, key = await world_account(client, world)
    hook = await ok(await client.post("/v1/webhooks", json={"url": rec.url}, headers=key), 201)
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20",
                                                         "auto_renew": False}, headers=key), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={"imei": imei()}, headers=key))
    await ok(await client.post(f"{world['control']}/snapshots", json={"name": "s"}, headers=W), 201)
    await ok(await client.post(f"{world['control']}/clock/advance", json={"by": "1 month"}, headers=W))
    await until(lambda: any(e.get("new_state") == "retained" for e in rec.events), what="the expiry delivered")
    assert all(verify(hook["secret"], h.body, h.headers["Carriersim-Signature"]) for h in rec.accepted)
    delivered = len(rec.accepted)
    await ok(await client.post(f"{world['control']}/snapshots/s/restore", headers=W))
    await ok(await client.post(f"{world['control']}/clock/advance", json={"by": "1 month"}, headers=W))
    await until(lambda: len(rec.accepted) > delivered, what="deliveries after the restore")
    assert (await ok(await client.get("/v1/webhooks", headers=key)))["items"][0]["id"] == hook["id"]


async def test_a_plug_in_api_reaches_every_world_through_the_key_service(aiohttp_client):
    """A dialect to come authenticates its own way and lets the registry say which world a key belongs to."""
    from carriersim.simulator.http.api import Api, Route
    from carriersim.simulator.http.app import default_apis
    from carriersim.simulator.http.problems import ProblemError

    class Toy(Api):
        name, prefix = "toy", "/toy"

        def routes(self):
            yield Route("GET", "/toy/whoami", "whoami",
                        lambda ctx: {"world": ctx.state.id, "account": ctx.account, "now": ctx.sim.iso(ctx.sim.now)})

        def authenticate(self, request, worlds, route):
            found = worlds.for_key(request.headers.get("X-Toy-Key"))
            if found is None:
                raise ProblemError(403, "toy_denied", "Unknown X-Toy-Key.")
            return found

    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", apis=[*default_apis(), Toy()]))
    world = await new_world(client, start="2027-06-01T00:00:00+08:00")
    _, key = await world_account(client, world)
    default_key = (await ok(await client.post("/_sim/accounts", json={"name": "d"}, headers=ADMIN), 201))["api_key"]
    mine = await ok(await client.get("/toy/whoami", headers={"X-Toy-Key": key["Authorization"].split()[1]}))
    assert mine == {"world": world["id"], "account": "acc-0001", "now": "2027-06-01T00:00:00+08:00"}
    theirs = await ok(await client.get("/toy/whoami", headers={"X-Toy-Key": default_key}))
    assert theirs["world"] == "default" and theirs["now"] == "2027-01-01T00:00:00+08:00"
    await refused(await client.get("/toy/whoami", headers={"X-Toy-Key": "csk_wffffffffff_x"}), 403, "toy_denied")


async def test_a_server_with_one_world_is_used_as_one_world(aiohttp_server):
    """Another implementation's server without /_sim/worlds: the HTTP target falls back to its one world, and
    conformance --jobs above 1 stays refused for it."""
    from carriersim.conformance.targets import isolated_per_process
    from carriersim.scenarios.targets.http import HttpTarget
    from carriersim.simulator.http.native_api import ControlApi, NativeApi

    class OneWorldControl(ControlApi):
        def routes(self):
            return [r for r in super().routes() if "/worlds" not in r.path]

    app = create_app(Simulation(seed=1), admin_token="admin", apis=[NativeApi(), OneWorldControl()])
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")

    def drive() -> tuple[bool, bool, str, bool]:
        target = HttpTarget(url, admin_token="admin", own_world=None)
        offers = target.offers_worlds()
        target.reset(start="2027-02-01T00:00:00+08:00", seed=3)
        now = target.now()
        target.close()
        return offers, target.own_world, now, isolated_per_process(url, "admin")

    offers, own_world, now, isolated = await asyncio.to_thread(drive)
    assert (offers, own_world, now, isolated) == (False, False, "2027-02-01T00:00:00+08:00", False)
    assert app[STATE].sim.seed == 3  # the reset went to the server's one world


async def test_the_http_target_makes_a_world_of_its_own_on_a_server_that_offers_them(aiohttp_server):
    from carriersim.scenarios.targets.http import HttpTarget

    app = create_app(Simulation(seed=1), admin_token="admin")
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")

    def drive() -> tuple[str | None, str | None, str]:
        target = HttpTarget(url, admin_token="admin", own_world=None)
        target.reset(start="2027-02-01T00:00:00+08:00", seed=3)
        first = target.world
        target.reset(start="2027-03-01T00:00:00+08:00", seed=4)  # a new world; the first one is deleted
        second, now = target.world, target.now()
        listed = [w.id for w in app[WORLDS].created()]
        target.close()
        assert listed == [second] and not app[WORLDS].created()
        return first, second, now

    first, second, now = await asyncio.to_thread(drive)
    assert first and second and first != second and now == "2027-03-01T00:00:00+08:00"
    assert app[STATE].sim.now == Simulation(seed=1).now  # the default world was not touched
