"""The Twilio dialect as a server plug-in: mounted only when asked, its writes journaled and replayed, its OpenAPI
document served beside it, its rate limit answered with Twilio's 20429."""

from __future__ import annotations

import base64
from typing import Any

from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import OPENED, STATE
from carriersim.simulator.http.dialects.twilio import TwilioApi
from carriersim.simulator.http.ratelimit import RateLimit
from openapi_spec_validator import validate

ADMIN = {"Authorization": "Bearer admin"}


async def ok(resp, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return await resp.json()


def basic(creds: dict[str, str]) -> dict[str, str]:
    raw = f"{creds['account_sid']}:{creds['auth_token']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def setup(client) -> tuple[dict[str, str], dict[str, Any]]:
    answer = await ok(await client.post("/_sim/accounts", json={"name": "Acme", "verified": True}, headers=ADMIN),
                      201)
    [stock] = (await ok(await client.post("/_sim/dialects/twilio/stock", json={"count": 1}, headers=ADMIN),
                        201))["sims"]
    return basic(answer["dialects"]["twilio"]), stock


async def test_the_default_server_mounts_no_dialect_and_answers_as_before(aiohttp_client):
    client = await aiohttp_client(create_app(admin_token="admin"))
    answer = await ok(await client.post("/_sim/accounts", json={"name": "Acme"}, headers=ADMIN), 201)
    assert set(answer) == {"account", "api_key"}
    assert (await client.get("/twilio/v1/Sims")).status == 404
    assert "supersim" not in client.app[STATE].sim.carrier_ids()


async def test_twilio_writes_are_journaled_and_replay_after_a_restart(aiohttp_client, tmp_path):
    db = str(tmp_path / "twilio.db")
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["twilio"]))
    H, stock = await setup(client)
    sim = await ok(await client.post("/twilio/v1/Sims", data={"Iccid": stock["iccid"],
                                                              "RegistrationCode": stock["registration_code"]},
                                     headers=H), 201)
    await ok(await client.post(f"/twilio/v1/Sims/{sim['sid']}", data={"UniqueName": "meter-7", "Status": "active"},
                               headers=H), 202)
    st = client.app[STATE]
    ops = [e.op for e in st.durability.store.entries(0)]
    assert ops == ["create_account", "add_inventory", "open_card", "activate", "set_label", "set_label"]
    st.durability.store.close()  # a killed process: no final snapshot, the restart replays the journal
    st.durability = None
    await client.close()
    client = await aiohttp_client(create_app(admin_token="admin", db=db, dialects=["twilio"]))
    assert client.app[OPENED]["replayed"] == 6
    again = await ok(await client.get("/twilio/v1/Sims/meter-7", headers=H))
    assert again["sid"] == sim["sid"] and again["status"] == "scheduled"
    await ok(await client.post("/_sim/clock/advance", json={"by": "1 minute"}, headers=ADMIN))
    assert (await ok(await client.get("/twilio/v1/Sims/meter-7", headers=H)))["status"] == "active"


async def test_the_openapi_document_is_served_and_valid(aiohttp_client):
    client = await aiohttp_client(create_app(admin_token="admin", dialects=["twilio"]))
    document = await ok(await client.get("/twilio/openapi.json"))
    validate(document)
    assert "/v1/Sims/{sid}" in document["paths"]


async def test_errors_keep_twilios_shape_never_the_rfc9457_set(aiohttp_client):
    now = [0.0]
    api = TwilioApi(rate_limit=RateLimit(rate=1.0, burst=2, clock=lambda: now[0]))
    client = await aiohttp_client(create_app(admin_token="admin", dialects=[api]))
    H, _ = await setup(client)
    statuses = [(await client.get("/twilio/v1/Sims", headers=H)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await client.get("/twilio/v1/Sims", headers=H)
    body = await limited.json()
    assert body == {"code": 20429, "message": "Too Many Requests",
                    "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}
    now[0] += 5
    bad = await client.post("/twilio/v1/Sims", data={"Iccid": "1"}, headers=H)
    assert bad.status == 400 and (await bad.json())["code"] == 83001
    assert not {"type", "title"} & set(await bad.json())
