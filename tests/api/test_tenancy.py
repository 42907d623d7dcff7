"""Tenancy over HTTP (PLAN-3): an API key sees and changes only its own account's cards.

On every card route, another account's key gets 404 ``card_not_found`` with a problem document identical — but for
the ICCID in its text — to the one for a card that does not exist, and nothing changes; that holds even while the
card's carrier is in maintenance (a 503 would leak that the card exists). Pools, batch jobs, webhooks, the card list
and the events feed are scoped the same way. A missing, malformed or unknown key is 401 on every ``/v1`` route; test
control (``/_sim``) answers 401 without the admin token, with a wrong one, or with an account's key.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import STATE
from carriersim.simulator.http.spec import OPERATIONS
from carriersim.simulator.identifiers import make_credit_code, make_iccid, make_imei

from .apihelp import ADMIN, account, batch_form, csv_upload, digest, open_active

CARD_OPS = [op for op in OPERATIONS if op.path.startswith("/v1/cards/{iccid}")]
BODIES: dict[str, Any] = {
    "activateCard": {}, "changePlan": {"plan": "CMCC-M30"}, "topUp": {"amount": "1"},
    "buyAddOn": {"addon": "CMCC-ADD100"}, "verifyIdentity": {"name": "张三", "id_number": "110101199003070012"},
    "rebindDevice": {"imei": make_imei(7)}, "setAutoRenew": {"enabled": False}, "swapCard": {},
    "requestCancellation": {"document": "91350100M000100Y43"}, "requestRefund": {"kind": "unused_months"},
}


@pytest.fixture
async def tenants(client) -> dict[str, Any]:
    """``owner`` with an active cmcc card (pending plan change, in a pool) and ``intruder`` with a card of its own."""
    owner = await account(client, "Owner Co", id_number=make_credit_code(random.Random(3)))
    intruder = await account(client, "Intruder Co")
    iccid = await open_active(client, owner["H"], payment="50")
    r = await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"}, headers=owner["H"])
    assert r.status == 200
    r = await client.post("/v1/pools", json={"carrier": "cmcc", "name": "owner pool"}, headers=owner["H"])
    pool = (await r.json())["id"]
    r = await client.post(f"/v1/pools/{pool}/members", json={"iccid": iccid}, headers=owner["H"])
    assert r.status == 200
    theirs = await open_active(client, intruder["H"], payment="50")
    return {"owner": owner, "intruder": intruder, "iccid": iccid, "pool": pool, "theirs": theirs}


async def answer(client, op, iccid: str, headers: dict[str, str]) -> tuple[int, str, dict[str, Any]]:
    r = await client.request(op.method, op.path.replace("{iccid}", iccid), json=BODIES.get(op.id), headers=headers)
    return r.status, r.content_type, await r.json()


def masked(body: dict[str, Any], iccid: str) -> dict[str, Any]:
    return {k: (v.replace(iccid, "<ICCID>") if isinstance(v, str) else v) for k, v in body.items()}


# ------------------------------------------------------------------------------------------------ PLAN-3


async def test_plan3_every_card_route_answers_like_a_missing_card(client, tenants):
    assert len(CARD_OPS) == 23
    owner, intruder, iccid = tenants["owner"], tenants["intruder"], tenants["iccid"]
    ghost = make_iccid("898600", 909_090)
    owner_view = await (await client.get(f"/v1/cards/{iccid}", headers=owner["H"])).json()
    before = digest(client)
    for op in CARD_OPS:
        status, ctype, body = await answer(client, op, iccid, intruder["H"])
        g_status, g_ctype, g_body = await answer(client, op, ghost, intruder["H"])
        assert (status, ctype, body["code"]) == (404, "application/problem+json", "card_not_found"), (op.id, body)
        assert (g_status, g_ctype) == (status, ctype), op.id
        assert iccid in body["detail"] and ghost in g_body["detail"]
        assert masked(body, iccid) == masked(g_body, ghost), op.id
    assert digest(client) == before
    assert await (await client.get(f"/v1/cards/{iccid}", headers=owner["H"])).json() == owner_view


async def test_plan3_holds_while_the_cards_carrier_is_in_maintenance(client, tenants):
    """A 503 for someone else's card would tell the caller that the card exists."""
    r = await client.post("/_sim/carriers/cmcc/maintenance", json={"duration": "1 hour"}, headers=ADMIN)
    assert r.status == 200
    owner, intruder, iccid = tenants["owner"], tenants["intruder"], tenants["iccid"]
    ghost = make_iccid("898600", 909_091)
    before = digest(client)
    for op in CARD_OPS:
        status, _, body = await answer(client, op, iccid, intruder["H"])
        _, _, g_body = await answer(client, op, ghost, intruder["H"])
        assert (status, body["code"]) == (404, "card_not_found"), (op.id, body)
        assert masked(body, iccid) == masked(g_body, ghost), op.id
    # the owner, meanwhile, is told to retry
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=owner["H"])
    assert r.status == 503 and "Retry-After" in r.headers
    assert digest(client) == before


async def test_plan3_owner_still_sees_and_changes_its_card(client, tenants):
    owner, iccid = tenants["owner"], tenants["iccid"]
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=owner["H"])
    assert r.status == 200 and (await r.json())["reasons"] == ["manual"]
    # and the intruder's own card is untouched by any of this
    r = await client.get(f"/v1/cards/{tenants['theirs']}", headers=tenants["intruder"]["H"])
    assert r.status == 200 and (await r.json())["state"] == "active"


async def test_plan3_pools_are_private(client, tenants):
    owner, intruder, iccid, pool = tenants["owner"], tenants["intruder"], tenants["iccid"], tenants["pool"]
    before = digest(client)
    r = await client.get(f"/v1/pools/{pool}", headers=intruder["H"])
    g = await client.get("/v1/pools/pool-9999", headers=intruder["H"])
    assert r.status == g.status == 404
    assert masked(await r.json(), pool) == masked(await g.json(), "pool-9999")
    r = await client.post(f"/v1/pools/{pool}/members", json={"iccid": tenants["theirs"]}, headers=intruder["H"])
    assert r.status == 404 and (await r.json())["code"] == "pool_not_found"
    assert (await (await client.get("/v1/pools", headers=intruder["H"])).json()) == {"items": []}
    # the owner's card cannot be pulled into the intruder's pool
    r = await client.post("/v1/pools", json={"carrier": "cmcc"}, headers=intruder["H"])
    theirs_pool = (await r.json())["id"]
    before = digest(client)
    r = await client.post(f"/v1/pools/{theirs_pool}/members", json={"iccid": iccid}, headers=intruder["H"])
    assert r.status == 404 and (await r.json())["code"] == "card_not_found"
    assert digest(client) == before
    listed = await (await client.get("/v1/pools", headers=owner["H"])).json()
    assert [p["id"] for p in listed["items"]] == [pool]


async def test_plan3_card_list_and_events_feed_are_per_account(client, tenants):
    owner, intruder, iccid = tenants["owner"], tenants["intruder"], tenants["iccid"]
    mine = await (await client.get("/v1/cards", headers=intruder["H"])).json()
    assert [c["iccid"] for c in mine["items"]] == [tenants["theirs"]]
    filtered = await (await client.get(f"/v1/cards?pool={tenants['pool']}", headers=intruder["H"])).json()
    assert filtered == {"items": [], "next_cursor": None}
    feed = await (await client.get("/v1/events?limit=1000", headers=intruder["H"])).json()
    assert feed["items"] and {e["iccid"] for e in feed["items"]} == {tenants["theirs"]}
    owner_feed = await (await client.get("/v1/events?limit=1000", headers=owner["H"])).json()
    assert {e["iccid"] for e in owner_feed["items"]} == {iccid}
    me = await (await client.get("/v1/account", headers=intruder["H"])).json()
    assert (me["id"], me["cards"]) == (intruder["id"], 1)


async def test_plan3_batch_rows_and_jobs_are_private(client, tenants):
    owner, intruder, iccid = tenants["owner"], tenants["intruder"], tenants["iccid"]
    ghost = make_iccid("898600", 909_092)
    form = batch_form("suspend", csv_upload("suspend", [[iccid], [ghost]]), "s.csv")
    before = digest(client)
    r = await client.post("/v1/batch-jobs", data=form, headers=intruder["H"])
    assert r.status == 201, await r.text()
    job = await r.json()
    assert (job["succeeded"], job["failed"]) == (0, 2)
    mine, missing = job["rows"]
    assert mine["code"] == missing["code"] == "card_not_found"
    assert mine["message"].replace(iccid, "<ICCID>") == missing["message"].replace(ghost, "<ICCID>")
    assert digest(client) == before
    # the owner cannot read the intruder's job, and it answers as a job that does not exist
    r = await client.get(f"/v1/batch-jobs/{job['id']}", headers=owner["H"])
    g = await client.get("/v1/batch-jobs/job-99999", headers=owner["H"])
    assert r.status == g.status == 404
    assert masked(await r.json(), job["id"]) == masked(await g.json(), "job-99999")
    assert (await client.get(f"/v1/batch-jobs/{job['id']}", headers=intruder["H"])).status == 200


async def test_plan3_webhooks_are_private(client, tenants):
    owner, intruder = tenants["owner"], tenants["intruder"]
    r = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=owner["H"])
    assert r.status == 201
    hook = (await r.json())["id"]
    assert await (await client.get("/v1/webhooks", headers=intruder["H"])).json() == {"items": []}
    r = await client.delete(f"/v1/webhooks/{hook}", headers=intruder["H"])
    assert r.status == 404 and (await r.json())["code"] == "webhook_not_found"
    assert [w["id"] for w in (await (await client.get("/v1/webhooks", headers=owner["H"])).json())["items"]] == [hook]


async def test_two_keys_of_one_account_see_the_same_cards(client, tenants):
    owner = tenants["owner"]
    r = await client.post(f"/_sim/accounts/{owner['id']}/keys", headers=ADMIN)
    assert r.status == 201
    data = await r.json()
    assert data["account"] == owner["id"] and data["api_key"].startswith("csk_") and data["api_key"] != owner["key"]
    second = {"Authorization": f"Bearer {data['api_key']}"}
    r = await client.get(f"/v1/cards/{tenants['iccid']}", headers=second)
    assert r.status == 200
    # the first key keeps working
    assert (await client.get(f"/v1/cards/{tenants['iccid']}", headers=owner["H"])).status == 200


# ------------------------------------------------------------------------------------------------ credentials


def _path(op, iccid: str) -> str:
    params = {"iccid": iccid, "carrier": "cmcc", "pool_id": "pool-0001", "job_id": "job-00001",
              "webhook_id": "wh-0001", "account_id": "acc-0001", "name": "snap-1",
              "world_id": "default", "recording_id": "rec-0001"}
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], op.path)


@pytest.mark.parametrize("auth", [
    None, "", "Bearer", "Bearer ", "Bearer csk_00000000000000000000000000000000", "Bearer admin",
    "Basic YWRtaW46YWRtaW4=", "csk_nothing",
])
async def test_native_routes_need_an_account_key(client, tenants, auth):
    headers = {} if auth is None else {"Authorization": auth}
    before = digest(client)
    for op in OPERATIONS:
        if op.control:
            continue
        r = await client.request(op.method, _path(op, tenants["iccid"]), json=BODIES.get(op.id), headers=headers)
        assert r.status == 401, (op.id, await r.text())
        assert r.content_type == "application/problem+json"
        body = await r.json()
        assert body["code"] == "unauthorized" and body["status"] == 401 and "Bearer" in body["detail"]
    assert digest(client) == before


async def test_bearer_scheme_is_case_insensitive(client, tenants):
    key = tenants["owner"]["key"]
    r = await client.get("/v1/account", headers={"Authorization": f"bearer {key}"})
    assert r.status == 200 and (await r.json())["id"] == tenants["owner"]["id"]


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer wrong", "Bearer admin2", "Bearer admi", "Basic admin"])
async def test_control_routes_need_the_admin_token(client, tenants, auth):
    headers = {} if auth is None else {"Authorization": auth}
    before = digest(client)
    for op in OPERATIONS:
        if not op.control:
            continue
        body = {"resetWorld": {}, "advanceClock": {"by": "1 day"}, "createAccount": {"name": "x"},
                "generateFleet": {"cards": 1}, "reportUsage": {"mb": 1}, "barCard": {},
                "startMaintenance": {"duration": "1 hour"}, "createFault": {"route": "/v1/*", "error_rate": 1},
                "setClockMode": {"mode": "accelerated"}}.get(op.id)
        r = await client.request(op.method, _path(op, tenants["iccid"]), json=body, headers=headers)
        assert r.status == 401, (op.id, await r.text())
        assert (await r.json())["code"] == "unauthorized"
    assert digest(client) == before
    assert client.app[STATE].faults.faults == []
    assert client.app[STATE].clock.mode == "frozen"


async def test_an_account_key_is_not_an_admin_token(client, tenants):
    before = digest(client)
    r = await client.post("/_sim/clock/advance", json={"by": "1 day"}, headers=tenants["owner"]["H"])
    assert r.status == 401 and (await r.json())["code"] == "unauthorized"
    r = await client.post("/_sim/reset", json={}, headers=tenants["owner"]["H"])
    assert r.status == 401
    assert digest(client) == before


async def test_no_admin_token_configured_means_no_test_control(aiohttp_client):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token=None))
    for auth in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"},
                 {"Authorization": "Bearer null"}):
        r = await client.get("/_sim/clock", headers=auth)
        assert r.status == 401 and (await r.json())["code"] == "unauthorized"


async def test_401_says_how_to_authenticate(client):
    r = await client.get("/v1/account")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].lower().startswith("bearer")


async def _raw_get(client, path: bytes, headers: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: test\r\n" + headers + b"Connection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


@pytest.mark.parametrize("path", [b"/v1/account", b"/_sim/clock"])
@pytest.mark.parametrize("auth", [b"Bearer \xff\xfe", b"Bearer csk_\xc0\x80", b"\xff\xff \xff"])
async def test_credentials_that_are_not_utf8_are_401_not_500(client, path, auth):
    data = await _raw_get(client, path, b"Authorization: " + auth + b"\r\n")
    assert data.startswith(b"HTTP/1.1 401 "), data[:200]
    assert b'"code": "unauthorized"' in data
