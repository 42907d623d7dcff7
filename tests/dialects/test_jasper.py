"""The Control Center (Jasper) dialect driven with plain HTTP as its public spec describes: Basic username:apiKey,
``GET /devices`` paged by ``modifiedSince``/``pageNumber``/``lastPage``, ``PUT /devices/{iccid}`` status and rate
plan changes, ``{"errorMessage", "errorCode"}`` errors, 429 ``40000029``, Push API events signed ``signature2``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from openapi_spec_validator import validate

from carriersim.simulator.http import create_app
from carriersim.simulator.http.dialects.jasper import JasperApi
from carriersim.simulator.http.ratelimit import RateLimit

ADMIN = {"Authorization": "Bearer admin"}
CC = "/rws/api/v1"


async def ok(resp, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return await resp.json()


async def cc_error(resp, status: int, code: str) -> dict[str, Any]:
    body = await ok(resp, status)
    assert set(body) == {"errorMessage", "errorCode"} and body["errorCode"] == code, body
    return body


async def jasper(aiohttp_client, api: JasperApi | None = None):
    return await aiohttp_client(create_app(admin_token="admin", dialects=[api or JasperApi()]))


async def account(client, name: str = "Acme") -> dict[str, Any]:
    answer = await ok(await client.post("/_sim/accounts", json={"name": name, "verified": True}, headers=ADMIN), 201)
    creds = answer["dialects"]["jasper"]
    raw = f"{creds['username']}:{creds['api_key']}".encode()
    return {"id": answer["account"]["id"], "H": {"Authorization": f"Bearer {answer['api_key']}"},
            "B": {"Authorization": "Basic " + base64.b64encode(raw).decode()}}


async def open_card(client, a, active: bool = False) -> str:
    card = await ok(await client.post("/v1/cards", json={"carrier": "cucc", "plan": "CUCC-M50"}, headers=a["H"]),
                    201)
    if active:
        await ok(await client.put(f"{CC}/devices/{card['iccid']}", json={"status": "ACTIVATED"}, headers=a["B"]))
    return card["iccid"]


async def device(client, a, iccid: str) -> dict[str, Any]:
    return await ok(await client.get(f"{CC}/devices/{iccid}", headers=a["B"]))


async def test_get_device_and_search_paged_by_modified_since_and_last_page(aiohttp_client):
    client = await jasper(aiohttp_client)
    a = await account(client)
    iccids = [await open_card(client, a) for _ in range(7)]
    d = await device(client, a, iccids[0])
    assert d["status"] == "ACTIVATION_READY" and d["ratePlan"] == "CUCC-M50" and d["iccid"] == iccids[0]
    assert d["dateAdded"] == "2026-12-31 16:00:00.000+0000"  # the simulated clock, in UTC, CC's format
    await cc_error(await client.get(f"{CC}/devices", headers=a["B"]), 400, "10000003")
    pages, number = [], 1
    while True:
        page = await ok(await client.get(f"{CC}/devices", params={
            "modifiedSince": "2026-12-01T00:00:00+00:00", "pageSize": "3", "pageNumber": str(number)},
            headers=a["B"]))
        assert page["pageNumber"] == number
        pages.append(page)
        if page["lastPage"]:
            break
        number += 1
    assert [len(p["devices"]) for p in pages] == [3, 3, 1]
    assert [dv["iccid"] for p in pages for dv in p["devices"]] == iccids
    await ok(await client.put(f"{CC}/devices/{iccids[2]}", json={"status": "ACTIVATED"}, headers=a["B"]))
    await ok(await client.post("/_sim/clock/advance", json={"by": "1 day"}, headers=ADMIN))
    await ok(await client.put(f"{CC}/devices/{iccids[2]}", json={"status": "DEACTIVATED"}, headers=a["B"]))
    later = await ok(await client.get(f"{CC}/devices", params={"modifiedSince": "2027-01-01T12:00:00+00:00"},
                                      headers=a["B"]))
    assert [dv["iccid"] for dv in later["devices"]] == [iccids[2]] and later["lastPage"] is True
    only = await ok(await client.get(f"{CC}/devices", params={"modifiedSince": "2026-12-01T00:00:00Z",
                                                              "status": "DEACTIVATED"}, headers=a["B"]))
    assert [dv["status"] for dv in only["devices"]] == ["DEACTIVATED"]
    await cc_error(await client.get(f"{CC}/devices", params={"modifiedSince": "2026-12-01T00:00:00Z",
                                                             "pageSize": "51"}, headers=a["B"]), 400, "10000006")


async def test_put_status_transitions_allowed_and_refused(aiohttp_client):
    client = await jasper(aiohttp_client)
    a = await account(client)
    iccid = await open_card(client, a)
    refused = await client.put(f"{CC}/devices/{iccid}", json={"status": "DEACTIVATED"}, headers=a["B"])
    await cc_error(refused, 400, "20000012")  # MAN-1: a card never activated cannot be stopped
    assert (await device(client, a, iccid))["status"] == "ACTIVATION_READY"  # and nothing changed
    assert await ok(await client.put(f"{CC}/devices/{iccid}", json={"status": "ACTIVATED"}, headers=a["B"])) == \
        {"iccid": iccid}
    await ok(await client.put(f"{CC}/devices/{iccid}", json={"status": "DEACTIVATED"}, headers=a["B"]))
    native = await ok(await client.get(f"/v1/cards/{iccid}", headers=a["H"]))
    assert native["state"] == "suspended" and native["reasons"] == ["manual"]
    await ok(await client.put(f"{CC}/devices/{iccid}", json={"status": "ACTIVATED"}, headers=a["B"]))
    await cc_error(await client.put(f"{CC}/devices/{iccid}", json={"status": "INVENTORY"}, headers=a["B"]),
                   400, "20000012")
    await cc_error(await client.put(f"{CC}/devices/{iccid}", json={"status": "ASLEEP"}, headers=a["B"]),
                   400, "10000006")
    # a quota stop (QUOTA-1) is not the platform's to lift: ACTIVATED is refused and the card stays stopped
    await ok(await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 60}, headers=ADMIN))
    usage = await ok(await client.get(f"{CC}/devices/{iccid}/ctdUsages", headers=a["B"]))
    assert usage["status"] == "DEACTIVATED" and usage["overageLimitReached"] is True
    assert usage["ctdDataUsage"] == 50 * 1024 * 1024
    await cc_error(await client.put(f"{CC}/devices/{iccid}", json={"status": "ACTIVATED"}, headers=a["B"]),
                   400, "20000012")
    trail = (await ok(await client.get(f"{CC}/devices/{iccid}/auditTrails", headers=a["B"])))["deviceAuditTrails"]
    assert (trail[0]["priorValue"], trail[0]["value"], trail[0]["reason"]) == ("ACTIVATED", "DEACTIVATED", "quota")
    custom = await client.put(f"{CC}/devices/{iccid}", json={"accountCustom1": "pump-17", "deviceID": "D-9"},
                              headers=a["B"])
    assert custom.status == 200
    d = await device(client, a, iccid)
    assert d["accountCustom1"] == "pump-17" and d["deviceID"] == "D-9"


async def test_rate_plan_change_with_effective_date_takes_effect_at_the_next_cycle(aiohttp_client):
    client = await jasper(aiohttp_client)
    a = await account(client)
    iccid = await open_card(client, a, active=True)
    # prepaid (BILL-1): the new plan is paid at the cycle start; CC has no top-up, the native API does
    await ok(await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "20"}, headers=a["H"]), 201)
    plans = await ok(await client.get(f"{CC}/rateplans", headers=a["B"]))
    assert "CUCC-M500" in [p["name"] for p in plans["ratePlans"]] and plans["lastPage"] is True
    changed = await client.put(f"{CC}/devices/{iccid}", json={"ratePlan": "CUCC-M500",
                                                              "effectiveDate": "2027-01-02T00:00:00+00:00"},
                               headers=a["B"])
    assert changed.status == 202 and await changed.json() == {"iccid": iccid}
    await ok(await client.post("/_sim/clock/advance", json={"to": "2027-01-31T23:00:00+08:00"}, headers=ADMIN))
    assert (await device(client, a, iccid))["ratePlan"] == "CUCC-M50"  # PLAN-1: never in the current month
    await ok(await client.post("/_sim/clock/advance", json={"to": "2027-02-01T00:00:01+08:00"}, headers=ADMIN))
    assert (await device(client, a, iccid))["ratePlan"] == "CUCC-M500"
    trail = (await ok(await client.get(f"{CC}/devices/{iccid}/auditTrails", headers=a["B"])))["deviceAuditTrails"]
    assert [(t["field"], t["priorValue"], t["value"]) for t in trail if t["field"] == "Rate Plan"] == \
        [("Rate Plan", "CUCC-M50", "CUCC-M500")]
    await cc_error(await client.put(f"{CC}/devices/{iccid}", json={"ratePlan": "NOPE"}, headers=a["B"]),
                   400, "20000011")


async def test_credentials_and_plan3(aiohttp_client):
    client = await jasper(aiohttp_client)
    a, b = await account(client, "A"), await account(client, "B")
    iccid = await open_card(client, a)
    await cc_error(await client.get(f"{CC}/devices/{iccid}", headers=b["B"]), 404, "20000001")
    bad = {"Authorization": "Basic " + base64.b64encode(b"acc-0001:nope").decode()}
    await cc_error(await client.get(f"{CC}/devices/{iccid}", headers=bad), 401, "10000001")
    await cc_error(await client.get(f"{CC}/devices/{iccid}", headers=a["H"]), 401, "10000001")  # Bearer: no
    other = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100"}, headers=a["H"]),
                     201)
    await cc_error(await client.get(f"{CC}/devices/{other['iccid']}", headers=a["B"]), 404, "20000001")


async def test_429_with_error_code_40000029_under_the_rate_limit(aiohttp_client):
    now = [0.0]
    client = await jasper(aiohttp_client, JasperApi(rate_limit=RateLimit(rate=1.0, burst=2, clock=lambda: now[0])))
    a = await account(client)
    iccid = await open_card(client, a)
    statuses = [(await client.get(f"{CC}/devices/{iccid}", headers=a["B"])).status for _ in range(2)]
    assert statuses == [200, 200]
    limited = await client.get(f"{CC}/devices/{iccid}", headers=a["B"])
    assert limited.headers["Retry-After"] == "1"
    await cc_error(limited, 429, "40000029")
    now[0] += 1.0
    await device(client, a, iccid)


async def test_a_push_event_whose_signature2_verifies(aiohttp_client, aiohttp_server):
    got: list[dict[str, str]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        form = parse_qs(await request.text())
        got.append({k: v[0] for k, v in form.items()})
        arrived.set()
        return web.Response(text="Received push notification")
    receiver = web.Application()
    receiver.router.add_post("/push", receive)
    server = await aiohttp_server(receiver)
    client = await jasper(aiohttp_client)
    a = await account(client)
    iccid = await open_card(client, a)
    reg = await ok(await client.post("/_sim/dialects/jasper/push", json={
        "account": a["id"], "url": str(server.make_url("/push")), "format": "form"}, headers=ADMIN), 201)
    await ok(await client.put(f"{CC}/devices/{iccid}", json={"status": "ACTIVATED"}, headers=a["B"]))
    await asyncio.wait_for(arrived.wait(), 10)
    event = got[0]
    assert event["eventType"] == "SIM_STATE_CHANGE"
    expected = base64.b64encode(hmac.new(reg["secret"].encode(), event["timestamp"].encode(),
                                         hashlib.sha256).digest()).decode()
    assert event["signature2"] == expected  # what Cisco's sample receiver checks
    assert f"<iccid>{iccid}</iccid>" in event["data"] and "<currentState>ACTIVATED</currentState>" in event["data"]
    assert 'xmlns="http://api.jasperwireless.com/ws/schema"' in event["data"]


async def test_the_openapi_document_is_served_and_valid(aiohttp_client):
    client = await jasper(aiohttp_client)
    document = await ok(await client.get("/rws/api/openapi.json"))
    validate(document)
    assert "/v1/devices/{iccid}" in document["paths"]


async def test_control_center_writes_are_journaled_and_replay(aiohttp_client, tmp_path):
    from carriersim.simulator.http.app import OPENED, STATE
    db = str(tmp_path / "cc.db")
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["jasper"]))
    a = await account(client)
    iccid = await open_card(client, a, active=True)
    await ok(await client.put(f"{CC}/devices/{iccid}", json={"status": "DEACTIVATED", "accountCustom2": "x"},
                              headers=a["B"]))
    st = client.app[STATE]
    assert [e.op for e in st.durability.store.entries(0)][-3:] == ["activate", "suspend", "set_label"]
    st.durability.store.close()
    st.durability = None
    await client.close()
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["jasper"]))
    assert client.app[OPENED]["replayed"] == 5
    d = await device(client, a, iccid)
    assert d["status"] == "DEACTIVATED" and d["accountCustom2"] == "x"


async def test_an_edit_refused_half_way_keeps_and_journals_what_applied(aiohttp_client, tmp_path):
    """status DEACTIVATED applies, then the plan change is refused (BILL-1: too little balance for it): the answer
    is the refusal, the stop stays, and the journal holds it, so a replay rebuilds the same world."""
    from carriersim.simulator.http.app import STATE
    db = str(tmp_path / "cc.db")
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["jasper"]))
    a = await account(client)
    iccid = await open_card(client, a, active=True)
    refused = await client.put(f"{CC}/devices/{iccid}", json={"status": "DEACTIVATED", "ratePlan": "CUCC-M2G"},
                               headers=a["B"])
    assert refused.status == 400 and refused.headers["Carriersim-Code"] == "insufficient_balance"
    assert (await device(client, a, iccid))["status"] == "DEACTIVATED"
    st = client.app[STATE]
    digest = st.sim.digest()
    assert [e.op for e in st.durability.store.entries(0)][-1] == "suspend"
    st.durability.store.close()
    st.durability = None
    await client.close()
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["jasper"]))
    assert client.app[STATE].sim.digest() == digest


async def test_a_reset_ends_the_push_registrations_of_the_old_world(aiohttp_client, aiohttp_server):
    got: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(await request.text())
        return web.Response()
    receiver = web.Application()
    receiver.router.add_post("/push", receive)
    server = await aiohttp_server(receiver)
    client = await jasper(aiohttp_client)
    a = await account(client)
    await ok(await client.post("/_sim/dialects/jasper/push", json={
        "account": a["id"], "url": str(server.make_url("/push")), "format": "json"}, headers=ADMIN), 201)
    await ok(await client.post("/_sim/reset", json={"seed": 1}, headers=ADMIN))
    b = await account(client)  # the new world's first account has the old one's id
    assert b["id"] == a["id"]
    await open_card(client, b, active=True)
    await asyncio.sleep(0.3)
    assert got == []
