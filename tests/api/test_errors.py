"""Errors over HTTP: RFC 9457 problem documents with a stable ``code``, and nothing a client sends gets a 5xx.

Malformed JSON (400 malformed_json), wrong types / unknown fields / missing fields / non-object bodies (422
invalid_body, with the offending field named), oversize bodies (413 body_too_large, the limit is 64 KiB for JSON),
bad ICCIDs in the path (422 invalid_iccid on every card route), unknown routes (404 not_found) and methods (405
method_not_allowed). Every refused request leaves the world exactly as it was (``sim.digest()`` unchanged).
MAINT-1 over HTTP: during a carrier's maintenance window its card commands answer 503 ``carrier_unavailable`` with a
``Retry-After`` header, while reads, and every operation on the other carriers, keep working.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from carriersim.simulator.http.spec import BODIES, OPERATIONS
from carriersim.simulator.identifiers import make_iccid, make_imei

from .apihelp import ADMIN, account, digest, imei, open_active, open_card, refused

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@pytest.fixture
async def world(client) -> dict[str, Any]:
    """An account with an active cmcc card (balance 15.00) and a ready ctcc card."""
    H = (await account(client))["H"]
    iccid = await open_active(client, H, payment="20")
    ctcc = (await open_card(client, H, "ctcc", "CTCC-M20", "5"))["iccid"]
    return {"H": H, "iccid": iccid, "ctcc": ctcc}


async def problem(resp, status: int, code: str) -> dict[str, Any]:
    """The response is a problem document of ``status`` with ``code``, in the RFC 9457 shape."""
    body = await refused(resp, status, code)
    assert PROBLEM_KEYS <= set(body), body
    assert body["type"] == f"https://carriersim.dev/problems/{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# ------------------------------------------------------------------------------------------------ shape, codes


async def test_problem_shape_of_an_engine_refusal(client, world):
    before = digest(client)
    r = await client.post(f"/v1/cards/{world['iccid']}/plan-change", json={"plan": "CMCC-A12G"}, headers=world["H"])
    body = await problem(r, 402, "insufficient_balance")
    assert body == {"type": "https://carriersim.dev/problems/insufficient_balance", "title": "Insufficient balance",
                    "status": 402, "code": "insufficient_balance", "price": "120.00", "balance": "15.00",
                    "detail": body["detail"]}
    assert "120.00" in body["detail"] and world["iccid"] in body["detail"]
    assert digest(client) == before


async def test_stable_codes_for_common_refusals(client, world):
    H, iccid = world["H"], world["iccid"]
    missing = make_iccid("898600", 123_456)
    cases = [
        (client.get(f"/v1/cards/{missing}", headers=H), 404, "card_not_found"),
        (client.post(f"/v1/cards/{iccid}/resumption", headers=H), 409, "not_manually_suspended"),
        (client.delete(f"/v1/cards/{iccid}/plan-change", headers=H), 409, "no_pending_change"),
        (client.post(f"/v1/cards/{iccid}/reactivation", headers=H), 409, "not_in_arrears"),
        (client.post(f"/v1/cards/{iccid}/addons", json={"addon": "NOPE"}, headers=H), 404, "addon_not_found"),
        (client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "NOPE"}, headers=H), 404, "plan_not_found"),
        (client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M100"}, headers=H), 409,
         "plan_change_not_allowed"),
        (client.post(f"/v1/cards/{world['ctcc']}/suspension", headers=H), 409, "invalid_state"),
        (client.get("/v1/carriers/nope/plans", headers=H), 404, "carrier_not_found"),
        (client.get("/v1/pools/nope", headers=H), 404, "pool_not_found"),
        (client.get("/v1/batch-jobs/nope", headers=H), 404, "batch_job_not_found"),
        (client.delete("/v1/webhooks/nope", headers=H), 404, "webhook_not_found"),
        (client.get(f"/v1/cards/{iccid}/certificate", headers=H), 404, "certificate_not_found"),
        (client.get("/v1/cards/123", headers=H), 422, "invalid_iccid"),
        (client.get("/v1/cards?limit=0", headers=H), 422, "invalid_query"),
        (client.get("/v1/account"), 401, "unauthorized"),
        (client.get("/v1/nope", headers=H), 404, "not_found"),
        (client.patch(f"/v1/cards/{iccid}", headers=H), 405, "method_not_allowed"),
    ]
    before = digest(client)
    for request, status, code in cases:
        await problem(await request, status, code)
    assert digest(client) == before


# ------------------------------------------------------------------------------------------------ bodies


@pytest.mark.parametrize("raw", [
    b'{"amount": "5"',            # truncated
    b'{"amount": "5",}',          # trailing comma
    b"{'amount': '5'}",           # single quotes
    b'amount=5',                  # a form, not JSON
    b'{"amount": "\xff"}',        # not UTF-8
    b'{"amount": "5"} {"amount": "6"}',  # two documents
])
async def test_malformed_json_is_400_and_changes_nothing(client, world, raw):
    before = digest(client)
    r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=raw,
                          headers={**world["H"], "Content-Type": "application/json"})
    body = await problem(r, 400, "malformed_json")
    assert "not valid JSON" in body["detail"]
    assert digest(client) == before


@pytest.mark.parametrize("payload, field", [
    ({"amount": True}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": ["5"]}, "amount"),
    ({"amount": {"cny": 5}}, "amount"),
    ({"amount": "five"}, "amount"),
    ({"amount": "5.001"}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": "5", "currency": "USD"}, "(body)"),  # unknown field
    ({}, "(body)"),                                   # missing field
    ([{"amount": "5"}], "(body)"),                    # not an object
    ("5", "(body)"),
    (5, "(body)"),
    (None, "(body)"),
])
async def test_wrong_types_unknown_and_missing_fields_are_422(client, world, payload, field):
    before = digest(client)
    r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=json.dumps(payload),
                          headers={**world["H"], "Content-Type": "application/json"})
    body = await problem(r, 422, "invalid_body")
    assert body["errors"] and all(set(e) == {"field", "message"} for e in body["errors"])
    assert body["errors"][0]["field"] == field
    assert body["detail"].startswith(f"{field}: ")
    assert digest(client) == before


async def test_unknown_field_is_named(client, world):
    r = await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "colour": "red"},
                          headers=world["H"])
    body = await problem(r, 422, "invalid_body")
    assert "colour" in body["detail"]


async def test_every_body_schema_refuses_unknown_fields_and_wrong_types(client, world):
    """A sweep over every operation with a JSON body: an unknown field, a body that is an array, and a missing body
    where a field is required are 422 invalid_body; a malformed body is 400 — for /v1 and /_sim alike, and nothing
    changes."""
    params = {"iccid": world["iccid"], "carrier": "cmcc", "pool_id": "pool-x", "job_id": "job-x",
              "webhook_id": "wh-x", "account_id": "acc-0001", "name": "snap-x"}
    before = digest(client)
    for op in OPERATIONS:
        if not op.body:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], op.path)
        headers = {**(ADMIN if op.control else world["H"]), "Content-Type": "application/json"}
        cases = [(b'{"surely_unknown_field": 1}', 422, "invalid_body"), (b"[]", 422, "invalid_body"),
                 (b"{", 400, "malformed_json")]
        schema = BODIES[op.body]
        if schema.get("required") or schema.get("oneOf"):  # a body with a required field cannot be left out
            cases.append((b"", 422, "invalid_body"))
        for raw, status, code in cases:
            r = await client.request(op.method, path, data=raw, headers=headers)
            assert r.status == status, (op.id, raw, await r.text())
            assert (await r.json())["code"] == code, op.id
    assert digest(client) == before


async def test_nan_and_infinity_are_refused(client, world):
    before = digest(client)
    for raw in (b'{"amount": NaN}', b'{"amount": Infinity}', b'{"amount": -Infinity}'):
        r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=raw,
                              headers={**world["H"], "Content-Type": "application/json"})
        assert r.status in (400, 422), await r.text()
        assert r.content_type == "application/problem+json"
    r = await client.post(f"/_sim/cards/{world['iccid']}/usage", data=b'{"mb": NaN}',
                          headers={**ADMIN, "Content-Type": "application/json"})
    assert r.status in (400, 422), await r.text()
    assert digest(client) == before


async def test_huge_json_integer_is_a_4xx(client, world):
    before = digest(client)
    raw = b'{"amount": ' + b"1" * 5000 + b"}"  # more digits than Python converts to int by default
    r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=raw,
                          headers={**world["H"], "Content-Type": "application/json"})
    await problem(r, 400, "malformed_json")
    assert digest(client) == before


async def test_deeply_nested_json_is_a_4xx(client, world):
    before = digest(client)
    raw = b"[" * 30_000 + b"]" * 30_000
    assert len(raw) < 64 * 1024
    r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=raw,
                          headers={**world["H"], "Content-Type": "application/json"})
    assert 400 <= r.status < 500, await r.text()
    assert digest(client) == before


async def test_body_of_64_kib_is_accepted_and_one_byte_more_is_413(client, world):
    H, iccid = {**world["H"], "Content-Type": "application/json"}, world["iccid"]
    start = b'{"amount": "1.00"'
    exact = start + b" " * (64 * 1024 - len(start) - 1) + b"}"
    assert len(exact) == 64 * 1024
    before = digest(client)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", data=exact[:-1] + b" }", headers=H)
    body = await problem(r, 413, "body_too_large")
    assert "64 KiB" in body["detail"]
    assert digest(client) == before
    r = await client.post(f"/v1/cards/{iccid}/top-ups", data=exact, headers=H)
    assert r.status == 201, await r.text()
    assert (await r.json())["card"]["balance"] == "16.00"


async def test_very_large_body_is_413(client, world):
    before = digest(client)
    r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", data=b" " * (17 * 1024 * 1024),
                          headers={**world["H"], "Content-Type": "application/json"})
    await problem(r, 413, "body_too_large")
    assert digest(client) == before


async def test_oversize_body_on_control_route_is_413(client, world):
    before = digest(client)
    r = await client.post("/_sim/accounts", data=json.dumps({"name": "x" * 70_000}),
                          headers={**ADMIN, "Content-Type": "application/json"})
    await problem(r, 413, "body_too_large")
    assert digest(client) == before


# ------------------------------------------------------------------------------------------------ paths


def _card_ops():
    return [op for op in OPERATIONS if op.path.startswith("/v1/cards/{iccid}")]


def _valid_body(op_id: str) -> Any:
    return {"activateCard": {}, "changePlan": {"plan": "CMCC-M30"}, "topUp": {"amount": "1"},
            "buyAddOn": {"addon": "CMCC-ADD100"}, "verifyIdentity": {"name": "张三", "id_number": "110101199003070012"},
            "rebindDevice": {"imei": make_imei(1)}, "setAutoRenew": {"enabled": False}, "swapCard": {},
            "requestCancellation": {"document": "91350100M000100Y43"}, "requestRefund": {"kind": "balance"},
            }.get(op_id)


@pytest.mark.parametrize("bad", [
    "123",                                  # too short
    "8986000000000000001X",                 # a letter
    "89860000000000000018" + "0" * 30,      # too long
    None,                                   # check digit wrong (filled in below)
    "12860200000000000017",                 # does not start with 89
    "%20",                                  # a space
    "８９８６０２００００００００００００００１７",  # full-width digits
])
async def test_bad_iccid_in_path_is_422_on_every_card_route(client, world, bad):
    iccid = world["iccid"]
    if bad is None:
        bad = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    ops = _card_ops()
    assert len(ops) == 23
    before = digest(client)
    for op in ops:
        path = op.path.replace("{iccid}", bad)
        body = _valid_body(op.id)
        r = await client.request(op.method, path, json=body, headers=world["H"])
        got = await problem(r, 422, "invalid_iccid")
        assert "ICCID" in got["detail"], (op.id, got)
    assert digest(client) == before


async def test_bad_iccid_on_control_and_pool_routes(client, world):
    before = digest(client)
    await problem(await client.post("/_sim/cards/12345/usage", json={"mb": 1}, headers=ADMIN), 422, "invalid_iccid")
    await problem(await client.post("/_sim/cards/12345/carrier-hold", json={}, headers=ADMIN), 422, "invalid_iccid")
    await problem(await client.delete("/_sim/cards/12345/carrier-hold", headers=ADMIN), 422, "invalid_iccid")
    r = await client.post("/v1/pools", json={"carrier": "cmcc"}, headers=world["H"])
    pool = (await r.json())["id"]
    before = digest(client)
    await problem(await client.post(f"/v1/pools/{pool}/members", json={"iccid": "123"}, headers=world["H"]), 422,
                  "invalid_body")
    await problem(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "iccid": "1" * 18},
                                    headers=world["H"]), 422, "invalid_body")
    await problem(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "iccid": "1" * 19},
                                    headers=world["H"]), 422, "invalid_iccid")
    await problem(await client.post(f"/v1/cards/{world['iccid']}/swap", json={"new_iccid": "89" + "0" * 18},
                                    headers=world["H"]), 422, "invalid_iccid")
    assert digest(client) == before


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/v1/nothing", 404, "not_found"),
    ("GET", "/nothing-here", 404, "not_found"),  # "/" is the dashboard
    ("GET", "/v2/cards", 404, "not_found"),
    ("POST", "/v1/cards/89860200000000000017/teleport", 404, "not_found"),
    ("GET", "/_sim/nothing", 404, "not_found"),
    ("PUT", "/v1/cards", 405, "method_not_allowed"),
    ("DELETE", "/v1/cards/89860200000000000017", 405, "method_not_allowed"),
    ("PATCH", "/v1/account", 405, "method_not_allowed"),
    ("GET", "/v1/cards/89860200000000000017/top-ups", 405, "method_not_allowed"),
    ("POST", "/_sim/clock", 405, "method_not_allowed"),
    ("PUT", "/openapi.json", 405, "method_not_allowed"),
])
async def test_unknown_routes_and_methods_are_4xx_problems(client, world, method, path, status, code):
    before = digest(client)
    for headers in (world["H"], ADMIN, {}):
        r = await client.request(method, path, headers=headers, data=b'{"x": 1}')
        await problem(r, status, code)
    assert digest(client) == before


async def test_garbage_headers_never_5xx(client, world):
    before = digest(client)
    for auth in ("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer " + "x" * 5000, "Bearer \u00e9\u00e9",
                 "Token abc"):
        r = await client.get("/v1/account", headers={"Authorization": auth.encode("utf-8").decode("latin-1")})
        await problem(r, 401, "unauthorized")
    for key in ("", "x" * 256):
        r = await client.post(f"/v1/cards/{world['iccid']}/top-ups", json={"amount": "1"},
                              headers={**world["H"], "Idempotency-Key": key})
        await problem(r, 422, "invalid_idempotency_key")
    assert digest(client) == before


# ------------------------------------------------------------------------------------------------ MAINT-1


async def test_maint1_503_with_retry_after_on_that_carriers_card_routes(client, world):
    H, iccid, ctcc = world["H"], world["iccid"], world["ctcc"]
    r = await client.post("/_sim/carriers/cmcc/maintenance", json={"duration": "2 hours"}, headers=ADMIN)
    assert r.status == 200, await r.text()
    assert await r.json() == {"carrier": "cmcc", "until": "2027-01-01T02:00:00+08:00"}
    before = digest(client)
    commands = [op for op in _card_ops() if op.method != "GET"]
    assert len(commands) == 18
    for op in commands:
        r = await client.request(op.method, op.path.replace("{iccid}", iccid), json=_valid_body(op.id), headers=H)
        body = await problem(r, 503, "carrier_unavailable")
        assert r.headers["Retry-After"] == "7200", op.id
        assert body["retry_after"] == 7200 and body["until"] == "2027-01-01T02:00:00+08:00"
    r = await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100"}, headers=H)
    await problem(r, 503, "carrier_unavailable")
    assert r.headers["Retry-After"] == "7200"
    assert digest(client) == before
    # reads of that carrier's cards are refused too (the shipped profiles' maintenance.refuse_reads), saying when
    for suffix in ("", "/history", "/usage", "/ledger"):
        r = await client.get(f"/v1/cards/{iccid}{suffix}", headers=H)
        assert (await problem(r, 503, "carrier_unavailable"))["retry_after"] == 7200, suffix
        assert r.headers["Retry-After"] == "7200"
    # the account's listing and the carriers' list still answer, showing the window
    listed = await (await client.get("/v1/cards?carrier=cmcc", headers=H)).json()
    assert [x["iccid"] for x in listed["items"]] == [iccid]
    carriers = await (await client.get("/v1/carriers", headers=H)).json()
    assert {c["id"]: c["maintenance_until"] for c in carriers["items"]} == {
        "cmcc": "2027-01-01T02:00:00+08:00", "cucc": None, "ctcc": None}
    # the other carriers work as usual
    r = await client.get(f"/v1/cards/{ctcc}", headers=H)
    assert r.status == 200 and (await r.json())["state"] == "ready"
    r = await client.post(f"/v1/cards/{ctcc}/activation", json={"imei": imei()}, headers=H)
    assert r.status == 200 and (await r.json())["state"] == "active"
    r = await client.post("/v1/cards", json={"carrier": "cucc", "plan": "CUCC-M50"}, headers=H)
    assert r.status == 201
    # Retry-After counts down with the clock; after the window the carrier answers again
    r = await client.post("/_sim/clock/advance", json={"by": "90 minutes"}, headers=ADMIN)
    assert r.status == 200
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=H)
    await problem(r, 503, "carrier_unavailable")
    assert r.headers["Retry-After"] == "1800"
    await client.post("/_sim/clock/advance", json={"by": "30 minutes"}, headers=ADMIN)
    c = await (await client.get(f"/v1/cards/{iccid}", headers=H)).json()
    assert (c["state"], c["reasons"]) == ("active", [])
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=H)
    assert r.status == 200 and (await r.json())["reasons"] == ["manual"]


async def test_maint1_closing_the_window_early(client, world):
    H, iccid = world["H"], world["iccid"]
    await client.post("/_sim/carriers/cmcc/maintenance", json={"until": "2027-01-02T00:00:00+08:00"}, headers=ADMIN)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers=H)
    await problem(r, 503, "carrier_unavailable")
    assert r.headers["Retry-After"] == "86400"
    r = await client.delete("/_sim/carriers/cmcc/maintenance", headers=ADMIN)
    assert r.status == 204
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers=H)
    assert r.status == 201 and (await r.json())["card"]["balance"] == "16.00"
    await problem(await client.delete("/_sim/carriers/cmcc/maintenance", headers=ADMIN), 409, "no_maintenance")
