"""Test control (``/_sim``) over HTTP: the clock, accounts and keys, fleets, the network's reports, carrier holds,
maintenance windows and reset.

``POST /_sim/clock/advance`` answers once the world has settled: the next read already shows what happened on the way
(BILL-3 renewals, EXP-1 expiry, PLAN-1 changes applied). The clock never goes back (409 ``clock_backwards``) and
stays where the calendar can follow it (422). Accounts and keys made here work on ``/v1``; a generated fleet comes
with working keys; usage, region (REG-1) and device (BIND-1) reports act on the card as the network would; a carrier
hold (LIFE-2 ``carrier``) is lifted only by the carrier; reset empties the world and the old keys open nothing in it.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import STATE
from carriersim.simulator.identifiers import make_credit_code, make_iccid, make_resident_id

from .apihelp import ADMIN, account, card, digest, imei, ok, open_active, refused

# ------------------------------------------------------------------------------------------------ clock


async def test_clock_reads_the_simulated_time(client):
    assert await ok(await client.get("/_sim/clock", headers=ADMIN)) == {
        "now": "2027-01-01T00:00:00+08:00", "mode": "frozen", "rate": 86400.0}


async def test_bill3_advance_answers_when_settled(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    result = await ok(await client.post("/_sim/clock/advance", json={"by": "1 month"}, headers=ADMIN))
    assert result["from"] == "2027-01-01T00:00:00+08:00"
    assert result["to"] == result["now"] == "2027-02-01T00:00:00+08:00"
    assert result["jobs"] >= 1 and result["events"] >= 2
    # the very next read shows the renewal done at the cycle start
    c = await card(client, acme["H"], iccid)
    assert (c["state"], c["balance"]) == ("active", "0.00")
    assert (c["term_start"], c["term_end"]) == ("2027-02-01T00:00:00+08:00", "2027-03-01T00:00:00+08:00")
    history = (await ok(await client.get(f"/v1/cards/{iccid}/history", headers=acme["H"])))["items"]
    renewed = [e for e in history if e["kind"] == "renewed"]
    assert len(renewed) == 1 and renewed[0]["time"] == "2027-02-01T00:00:00+08:00" and renewed[0]["cause"] == "clock"
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-02-01T00:00:00+08:00"
    # EXP-1 next month: no money left, the card expires into retention at once
    await ok(await client.post("/_sim/clock/advance", json={"by": "P1M"}, headers=ADMIN))
    c = await card(client, acme["H"], iccid)
    assert (c["state"], c["reasons"], c["expired_at"]) == ("retained", ["arrears", "expired"],
                                                           "2027-03-01T00:00:00+08:00")


async def test_advance_to_an_instant_and_one_second_before_a_boundary(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="5", auto_renew=False)
    result = await ok(await client.post("/_sim/clock/advance", json={"to": "2027-01-31T23:59:59+08:00"},
                                        headers=ADMIN))
    assert (result["to"], result["events"]) == ("2027-01-31T23:59:59+08:00", 0)
    assert (await card(client, acme["H"], iccid))["state"] == "active"
    result = await ok(await client.post("/_sim/clock/advance", json={"by": "1 second"}, headers=ADMIN))
    assert result["to"] == "2027-02-01T00:00:00+08:00" and result["events"] > 0
    assert (await card(client, acme["H"], iccid))["reasons"] == ["arrears", "expired"]
    # a zero-length advance to now is allowed and does nothing
    before = digest(client)
    result = await ok(await client.post("/_sim/clock/advance", json={"to": "2027-02-01T00:00:00+08:00"},
                                        headers=ADMIN))
    assert (result["jobs"], result["events"]) == (0, 0)
    assert digest(client) == before


async def test_clock_never_goes_backwards(client):
    await ok(await client.post("/_sim/clock/advance", json={"by": "2 days"}, headers=ADMIN))
    before = digest(client)
    body = await refused(await client.post("/_sim/clock/advance", json={"to": "2027-01-02T23:59:59+08:00"},
                                           headers=ADMIN), 409, "clock_backwards")
    assert "2027-01-03T00:00:00+08:00" in body["detail"]
    await refused(await client.post("/_sim/clock/advance", json={"to": "1800-01-01"}, headers=ADMIN), 409,
                  "clock_backwards")
    await refused(await client.post("/_sim/clock/advance", json={"by": "-1 day"}, headers=ADMIN), 422,
                  "invalid_input")
    assert digest(client) == before
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-01-03T00:00:00+08:00"


@pytest.mark.parametrize("body, status, code", [
    ({"by": "banana"}, 422, "invalid_input"),
    ({"to": "not a time"}, 422, "invalid_input"),
    ({"by": "3 fortnights"}, 422, "invalid_input"),
    ({"to": "2027-02-01", "by": "1 day"}, 422, "invalid_body"),
    ({}, 422, "invalid_body"),
    ({"by": 86400}, 422, "invalid_body"),
    ({"by": "P1000000Y"}, 422, "invalid_input"),         # past the calendar's last year
    ({"to": "9999-12-31T00:00:00+08:00"}, 422, "invalid_input"),  # jobs would fall after year 9999
    ({"to": "9000-01-01T08:00:00+08:00"}, 422, "invalid_input"),
])
async def test_bad_advance_requests_are_refused_and_change_nothing(client, body, status, code):
    acme = await account(client)
    await open_active(client, acme["H"], payment="10")
    before = digest(client)
    await refused(await client.post("/_sim/clock/advance", json=body, headers=ADMIN), status, code)
    assert digest(client) == before
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-01-01T00:00:00+08:00"


async def test_clock_mode_switches_and_accelerated_time_moves(client):
    view = await ok(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 864_000},
                                      headers=ADMIN))
    assert (view["mode"], view["rate"]) == ("accelerated", 864_000)
    await asyncio.sleep(0.3)  # ten simulated days per real second
    now = (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"]
    assert now >= "2027-01-03T00:00:00+08:00"
    frozen = await ok(await client.post("/_sim/clock/mode", json={"mode": "frozen"}, headers=ADMIN))
    assert frozen["mode"] == "frozen" and frozen["now"] >= now
    await asyncio.sleep(0.1)
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == frozen["now"]
    await refused(await client.post("/_sim/clock/mode", json={"mode": "warp"}, headers=ADMIN), 422, "invalid_body")
    await refused(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 0}, headers=ADMIN),
                  422, "invalid_body")


# ------------------------------------------------------------------------------------------------ accounts, keys


async def test_create_accounts_and_keys(client):
    doc = make_credit_code(random.Random(5))
    data = await ok(await client.post("/_sim/accounts", json={"name": " 深圳物联 ", "verified": True,
                                                              "id_number": doc, "channel": "reseller"},
                                      headers=ADMIN), 201)
    assert data["account"] == {"id": "acc-0001", "name": "深圳物联", "kind": "enterprise", "channel": "reseller",
                               "verified": True, "balance": "0.00", "cards": 0}
    assert data["api_key"].startswith("csk_") and len(data["api_key"]) == 36
    me = await ok(await client.get("/v1/account", headers={"Authorization": f"Bearer {data['api_key']}"}))
    assert me == data["account"]
    person = await ok(await client.post("/_sim/accounts", json={"name": "李四", "kind": "personal",
                                                                "id_number": make_resident_id(random.Random(5))},
                                        headers=ADMIN), 201)
    assert (person["account"]["id"], person["account"]["kind"], person["account"]["verified"]) == (
        "acc-0002", "personal", False)
    key = await ok(await client.post("/_sim/accounts/acc-0002/keys", headers=ADMIN), 201)
    assert key["account"] == "acc-0002" and key["api_key"] not in (data["api_key"], person["api_key"])
    me = await ok(await client.get("/v1/account", headers={"Authorization": f"Bearer {key['api_key']}"}))
    assert me["id"] == "acc-0002"
    before = digest(client)
    await refused(await client.post("/_sim/accounts/acc-0099/keys", headers=ADMIN), 404, "account_not_found")
    await refused(await client.post("/_sim/accounts", json={"name": "x", "id_number": "123"}, headers=ADMIN), 422,
                  "invalid_identity")
    await refused(await client.post("/_sim/accounts", json={"name": "x", "kind": "personal", "id_number": doc},
                                    headers=ADMIN), 422, "invalid_identity")
    await refused(await client.post("/_sim/accounts", json={"name": "   "}, headers=ADMIN), 422, "invalid_input")
    await refused(await client.post("/_sim/accounts", json={"name": "x", "kind": "robot"}, headers=ADMIN), 422,
                  "invalid_body")
    assert digest(client) == before


async def test_fleet_generation_returns_keys_that_work(client):
    fleet = await ok(await client.post("/_sim/fleet", json={"cards": 30, "accounts": 3, "seed": 7}, headers=ADMIN),
                     201)
    assert fleet["cards"] == 30 and len(fleet["accounts"]) == 3
    total, seen = 0, set()
    for entry in fleet["accounts"]:
        H = {"Authorization": f"Bearer {entry['api_key']}"}
        me = await ok(await client.get("/v1/account", headers=H))
        assert me["id"] == entry["account"]
        page = await ok(await client.get("/v1/cards?limit=1000", headers=H))
        assert len(page["items"]) == me["cards"]
        assert all(c["account"] == entry["account"] for c in page["items"])
        seen |= {c["iccid"] for c in page["items"]}
        total += me["cards"]
        if page["items"]:
            iccid = page["items"][0]["iccid"]
            assert (await client.get(f"/v1/cards/{iccid}/history", headers=H)).status == 200
    assert total == len(seen) == 30
    # a second fleet adds accounts; it does not reuse the first fleet's
    more = await ok(await client.post("/_sim/fleet", json={"cards": 2}, headers=ADMIN), 201)
    assert more["cards"] == 2 and len(more["accounts"]) == 1
    assert more["accounts"][0]["account"] not in {a["account"] for a in fleet["accounts"]}


async def test_fleet_is_the_same_for_the_same_seed(aiohttp_client):
    views = []
    for _ in range(2):
        client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin"))
        fleet = await ok(await client.post("/_sim/fleet", json={"cards": 10, "accounts": 2, "seed": 3},
                                           headers=ADMIN), 201)
        views.append((fleet, digest(client)))
    assert views[0] == views[1]


# ------------------------------------------------------------------------------------------------ the network


async def test_usage_reports_act_like_the_network(client):
    acme = await account(client)
    first = imei()
    c = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100"}, headers=acme["H"]),
                 201)
    iccid = c["iccid"]
    await ok(await client.post(f"/v1/cards/{iccid}/activation", json={}, headers=acme["H"]))
    # BIND-1: the first usage with a device binds it
    result = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"kb": 512, "imei": first},
                                        headers=ADMIN))
    assert result == {"iccid": iccid, "accepted_kb": 512, "refused_kb": 0, "refused_because": None,
                      "state": "active", "reasons": []}
    assert (await card(client, acme["H"], iccid))["imei"] == first
    result = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 1.5, "imei": imei()},
                                        headers=ADMIN))
    assert (result["accepted_kb"], result["refused_kb"], result["refused_because"], result["reasons"]) == (
        0, 1536, "device", ["device"])
    await ok(await client.post(f"/v1/cards/{iccid}/device", json={"imei": first}, headers=acme["H"]))
    # REG-1: a restricted region stops the card; a province name works too
    result = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 1, "region": "CN-FJ"},
                                        headers=ADMIN))
    assert (result["accepted_kb"], result["refused_because"], result["reasons"]) == (0, "region", ["region"])
    # a report with only a region (no data) is fine
    result = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"region": "CN-BJ"}, headers=ADMIN))
    assert (result["accepted_kb"], result["reasons"]) == (0, ["region"])
    usage = await ok(await client.get(f"/v1/cards/{iccid}/usage", headers=acme["H"]))
    assert usage["cycle_mb"] == 0.5


async def test_usage_batch_reports_many_cards_in_order(client):
    """POST /_sim/usage: a load generator's batch, applied as the reports one by one; totals back."""
    acme = await account(client)
    a = await open_active(client, acme["H"])
    b = await open_active(client, acme["H"])
    result = await ok(await client.post("/_sim/usage", json={"reports": [
        {"iccid": a, "kb": 512}, {"iccid": b, "kb": 100, "region": "CN-FJ"}, {"iccid": a, "kb": 1}]},
        headers=ADMIN))
    assert result == {"reports": 3, "accepted_kb": 513, "refused_kb": 100, "refused": {"region": 1}}
    assert (await card(client, acme["H"], b))["reasons"] == ["region"]
    usage = await ok(await client.get(f"/v1/cards/{a}/usage", headers=acme["H"]))
    assert usage["cycle_mb"] == 0.501
    # one unknown card refuses the whole batch, unapplied
    ghost = make_iccid("898600", 99999)
    await refused(await client.post("/_sim/usage", json={"reports": [{"iccid": a, "kb": 5}, {"iccid": ghost,
                                                                                           "kb": 1}]},
                                    headers=ADMIN), 404, "card_not_found")
    usage = await ok(await client.get(f"/v1/cards/{a}/usage", headers=acme["H"]))
    assert usage["cycle_mb"] == 0.501
    await refused(await client.post("/_sim/usage", json={"reports": [{"iccid": a}]}, headers=ADMIN), 422,
                  "invalid_body")


async def test_usage_report_refusals(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    before = digest(client)
    cases = [
        ({"mb": 1, "kb": 1}, 422, "invalid_input"),
        ({"mb": 1, "region": "Atlantis"}, 422, "invalid_region"),
        ({"mb": 1, "imei": "123456789012345"}, 422, "invalid_imei"),
        ({"mb": -1}, 422, "invalid_body"),
        ({"kb": 1.5}, 422, "invalid_body"),
        ({"mb": "1"}, 422, "invalid_body"),
        ({"gb": 1}, 422, "invalid_body"),
    ]
    for body, status, code in cases:
        await refused(await client.post(f"/_sim/cards/{iccid}/usage", json=body, headers=ADMIN), status, code)
    await refused(await client.post(f"/_sim/cards/{make_iccid('898600', 31_337)}/usage", json={"mb": 1},
                                    headers=ADMIN), 404, "card_not_found")
    assert digest(client) == before


async def test_life2_carrier_hold_and_release(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    c = await ok(await client.post(f"/_sim/cards/{iccid}/carrier-hold", json={"note": "fraud check"}, headers=ADMIN))
    assert (c["state"], c["reasons"]) == ("suspended", ["carrier"])
    history = (await ok(await client.get(f"/v1/cards/{iccid}/history", headers=acme["H"])))["items"]
    assert history[-1]["cause"] == "world" and history[-1]["detail"] == {"note": "fraud check"}
    # the platform cannot lift it
    before = digest(client)
    await refused(await client.post(f"/v1/cards/{iccid}/resumption", headers=acme["H"]), 409,
                  "not_manually_suspended")
    await refused(await client.post(f"/_sim/cards/{iccid}/carrier-hold", json={}, headers=ADMIN), 409,
                  "already_barred")
    assert digest(client) == before
    # LIFE-3: stacked with a manual stop, release leaves the manual one
    await ok(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]))
    c = await ok(await client.delete(f"/_sim/cards/{iccid}/carrier-hold", headers=ADMIN))
    assert (c["state"], c["reasons"]) == ("suspended", ["manual"])
    await refused(await client.delete(f"/_sim/cards/{iccid}/carrier-hold", headers=ADMIN), 409, "not_barred")
    await refused(await client.post(f"/_sim/cards/{make_iccid('898600', 31_338)}/carrier-hold", json={},
                                    headers=ADMIN), 404, "card_not_found")


async def test_maintenance_window_opens_and_closes_on_its_own(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], "cucc", "CUCC-M50", "4")
    window = await ok(await client.post("/_sim/carriers/cucc/maintenance", json={"duration": "3 hours"},
                                        headers=ADMIN))
    assert window == {"carrier": "cucc", "until": "2027-01-01T03:00:00+08:00"}
    # reads are refused too during the window (the shipped profiles' maintenance.refuse_reads), saying when to retry
    resp = await client.get(f"/v1/cards/{iccid}", headers=acme["H"])
    assert (await refused(resp, 503, "carrier_unavailable"))["retry_after"] == 10800
    assert resp.headers["Retry-After"] == "10800"
    for path in (f"/v1/cards/{iccid}/history", f"/v1/cards/{iccid}/ledger"):
        await refused(await client.get(path, headers=acme["H"]), 503, "carrier_unavailable")
    used = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 1}, headers=ADMIN))
    assert used["reasons"] == ["maintenance"]  # the network still sees the card stopped
    await ok(await client.post("/_sim/clock/advance", json={"by": "3 hours"}, headers=ADMIN))
    c = await card(client, acme["H"], iccid)
    assert (c["state"], c["reasons"]) == ("active", [])
    # stop_cards false: the API is down but the cards keep running
    await ok(await client.post("/_sim/carriers/cucc/maintenance", json={"until": "2027-01-01T04:00:00+08:00",
                                                                        "stop_cards": False}, headers=ADMIN))
    used = await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 1}, headers=ADMIN))
    assert (used["accepted_kb"], used["reasons"]) == (1024, [])
    before = digest(client)
    await refused(await client.post("/_sim/carriers/cucc/maintenance", json={"until": "2027-01-01T02:00:00+08:00"},
                                    headers=ADMIN), 422, "invalid_input")
    await refused(await client.post("/_sim/carriers/nope/maintenance", json={"duration": "1 hour"}, headers=ADMIN),
                  404, "carrier_not_found")
    await refused(await client.post("/_sim/carriers/cucc/maintenance", json={"duration": "P100000Y"},
                                    headers=ADMIN), 422, "invalid_input")
    await refused(await client.post("/_sim/carriers/cucc/maintenance", json={"duration": "1 hour",
                                                                             "until": "2027-02-01"},
                                    headers=ADMIN), 422, "invalid_body")
    await refused(await client.delete("/_sim/carriers/nope/maintenance", headers=ADMIN), 404, "carrier_not_found")
    assert digest(client) == before


# ------------------------------------------------------------------------------------------------ reset


async def test_reset_empties_the_world_and_old_keys_stop_working(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    await ok(await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=acme["H"]), 201)
    await ok(await client.post("/_sim/faults", json={"route": "/v1/account", "latency_ms": 1}, headers=ADMIN), 201)
    await ok(await client.post("/_sim/clock/advance", json={"by": "10 days"}, headers=ADMIN))
    view = await ok(await client.post("/_sim/reset", json={}, headers=ADMIN))
    assert view == {"now": "2027-01-11T00:00:00+08:00", "mode": "frozen", "rate": 86400.0}  # the clock stays
    state = client.app[STATE]
    assert (state.sim.engine.accounts, state.sim.engine.cards, len(state.sim.engine.events)) == ({}, [], 0)
    assert state.faults.faults == [] and state.webhooks.subs == {} and state.batch_jobs == {}
    r = await client.get("/v1/account", headers=acme["H"])
    assert r.status == 401 and (await r.json())["code"] == "unauthorized"
    r = await client.get(f"/v1/cards/{iccid}", headers=acme["H"])
    assert r.status == 401
    # a new account in the new world gets the old account's id, but the old key still opens nothing
    fresh = await account(client)
    assert fresh["id"] == acme["id"] and fresh["key"] != acme["key"]
    r = await client.get("/v1/account", headers=acme["H"])
    assert r.status == 401, await r.text()
    assert (await ok(await client.get("/v1/account", headers=fresh["H"])))["cards"] == 0
    await refused(await client.get(f"/v1/cards/{iccid}", headers=fresh["H"]), 404, "card_not_found")
    assert await ok(await client.get("/_sim/faults", headers=ADMIN)) == {"items": []}


async def test_reset_with_seed_and_start(client):
    await account(client)
    view = await ok(await client.post("/_sim/reset", json={"seed": 42, "start": "2028-06-15T12:00:00+08:00"},
                                      headers=ADMIN))
    assert view["now"] == "2028-06-15T12:00:00+08:00"
    assert client.app[STATE].sim.seed == 42
    acme = await account(client)
    c = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100"}, headers=acme["H"]),
                 201)
    assert c["opened_at"] == "2028-06-15T12:00:00+08:00"
    before = digest(client)
    for body, code in (({"start": "0001-01-02"}, "invalid_input"), ({"start": "9999-12-31"}, "invalid_input"),
                       ({"start": "yesterday"}, "invalid_input"), ({"seed": "x"}, "invalid_body"),
                       ({"colour": 1}, "invalid_body")):
        await refused(await client.post("/_sim/reset", json=body, headers=ADMIN), 422, code)
    assert digest(client) == before
    assert (await ok(await client.get("/v1/account", headers=acme["H"])))["cards"] == 1


async def test_the_same_seed_hands_out_the_same_keys(aiohttp_client):
    keys = []
    for _ in range(2):
        client = await aiohttp_client(create_app(Simulation(seed=9), admin_token="admin"))
        keys.append((await account(client))["key"])
    assert keys[0] == keys[1]
