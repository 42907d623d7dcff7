"""``Idempotency-Key`` on POSTs: a retried request is applied once and answered with the first response.

20 concurrent retries of one top-up with one key charge once: one payment in the ledger, the balance up once, 20
identical responses (the replays marked ``Idempotent-Replayed: true``). The same key with another body (or on
another path) is refused 409 ``idempotency_key_reused`` and changes nothing; different keys are different requests;
keys are per account; a refused first attempt is replayed as refused; a request that never reached the handler (an
injected 5xx) leaves no record, so its retry is applied.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import FormData

from carriersim.simulator.http.app import STATE

from .apihelp import ADMIN, account, batch_form, csv_upload, digest, open_active

REPLAYED = "Idempotent-Replayed"


@pytest.fixture
async def acme(client) -> dict[str, Any]:
    H = (await account(client))["H"]
    return {"H": H, "iccid": await open_active(client, H, payment="5")}


async def top_ups(client, H, iccid: str) -> list[dict[str, Any]]:
    ledger = await (await client.get(f"/v1/cards/{iccid}/ledger", headers=H)).json()
    return [e for e in ledger["items"] if e["kind"] == "payment" and e["item"] == "top_up"]


async def balance(client, H, iccid: str) -> str:
    return (await (await client.get(f"/v1/cards/{iccid}", headers=H)).json())["balance"]


async def test_20_concurrent_retries_charge_once(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "top-up-2027-01-01-0001"}

    async def attempt() -> tuple[int, str | None, str, bytes]:
        r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10.00"}, headers=headers)
        return r.status, r.headers.get(REPLAYED), r.content_type, await r.read()

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert {(status, ctype, body) for status, _, ctype, body in results} == {
        (201, "application/json", results[0][3])}
    assert sorted(str(flag) for _, flag, _, _ in results) == ["None"] + ["true"] * 19
    payments = await top_ups(client, H, iccid)
    assert len(payments) == 1 and payments[0]["amount"] == "10.00"
    assert await balance(client, H, iccid) == "10.00"
    first = json.loads(results[0][3])
    assert first["payment"] == payments[0]["seq"] and first["card"]["balance"] == "10.00"
    # a later retry is a replay of the same answer, even though the card has changed since
    await client.post(f"/v1/cards/{iccid}/suspension", headers=H)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10.00"}, headers=headers)
    assert (r.status, r.headers[REPLAYED], await r.read()) == (201, "true", results[0][3])
    assert len(await top_ups(client, H, iccid)) == 1


async def test_same_key_other_body_is_409_and_changes_nothing(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "k-1"}
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10.00"}, headers=headers)
    assert r.status == 201 and REPLAYED not in r.headers
    before = digest(client)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "20.00"}, headers=headers)
    assert r.status == 409 and r.content_type == "application/problem+json"
    body = await r.json()
    assert body["code"] == "idempotency_key_reused" and body["status"] == 409
    assert body["type"] == "https://carriersim.dev/problems/idempotency_key_reused"
    # same key on another operation of the same card, or on another card: also another request
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=headers)
    assert r.status == 409 and (await r.json())["code"] == "idempotency_key_reused"
    other = await open_active(client, H, payment="5")
    before = digest(client)
    r = await client.post(f"/v1/cards/{other}/top-ups", json={"amount": "10.00"}, headers=headers)
    assert r.status == 409 and (await r.json())["code"] == "idempotency_key_reused"
    assert digest(client) == before
    assert [p["amount"] for p in await top_ups(client, H, iccid)] == ["10.00"]
    # and the original request still replays
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10.00"}, headers=headers)
    assert r.status == 201 and r.headers[REPLAYED] == "true"


async def test_concurrent_same_key_different_bodies_apply_one(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "race"}
    amounts = [f"{n}.00" for n in range(1, 11)]
    responses = await asyncio.gather(*(client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": a},
                                                   headers=headers) for a in amounts))
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 9
    winner = next(a for a, r in zip(amounts, responses) if r.status == 201)
    assert [p["amount"] for p in await top_ups(client, H, iccid)] == [winner]
    assert await balance(client, H, iccid) == winner


async def test_different_keys_are_two_payments(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    seqs = []
    for key in ("a", "b"):
        r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10.00"},
                              headers={**H, "Idempotency-Key": key})
        assert r.status == 201 and REPLAYED not in r.headers
        seqs.append((await r.json())["payment"])
    assert seqs[0] != seqs[1]
    assert [p["seq"] for p in await top_ups(client, H, iccid)] == seqs
    assert await balance(client, H, iccid) == "20.00"


async def test_without_a_key_every_post_applies(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    for _ in range(2):
        r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1.00"}, headers=H)
        assert r.status == 201 and REPLAYED not in r.headers
    assert len(await top_ups(client, H, iccid)) == 2


async def test_keys_are_per_account(client, acme):
    other = (await account(client, "Other"))["H"]
    theirs = await open_active(client, other, payment="5")
    key = {"Idempotency-Key": "shared-key"}
    r = await client.post(f"/v1/cards/{acme['iccid']}/top-ups", json={"amount": "10.00"}, headers={**acme["H"], **key})
    assert r.status == 201
    # the very same request from another account is not a replay of the first account's answer (that would hand
    # over its card): it is the other account's own request, for a card it cannot see
    r = await client.post(f"/v1/cards/{acme['iccid']}/top-ups", json={"amount": "10.00"}, headers={**other, **key})
    assert r.status == 404 and REPLAYED not in r.headers
    assert (await r.json())["code"] == "card_not_found"
    # the same key from the other account on its own card is its own request
    r = await client.post(f"/v1/cards/{theirs}/top-ups", json={"amount": "10.00"},
                          headers={**other, "Idempotency-Key": "shared-key-2"})
    assert r.status == 201 and REPLAYED not in r.headers
    assert (await r.json())["card"]["iccid"] == theirs
    r = await client.post(f"/v1/cards/{theirs}/top-ups", json={"amount": "10.00"},
                          headers={**acme["H"], "Idempotency-Key": "shared-key-2"})
    assert r.status == 404 and REPLAYED not in r.headers
    assert len(await top_ups(client, acme["H"], acme["iccid"])) == 1
    assert len(await top_ups(client, other, theirs)) == 1


async def test_a_refused_first_attempt_is_replayed_as_refused(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "plan"}
    r = await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"}, headers=headers)
    assert r.status == 402
    first = await r.read()
    await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "50"}, headers=H)
    before = digest(client)
    r = await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"}, headers=headers)
    assert (r.status, r.headers[REPLAYED], r.content_type, await r.read()) == (
        402, "true", "application/problem+json", first)
    assert digest(client) == before
    # a fresh key is a fresh attempt
    r = await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"},
                          headers={**H, "Idempotency-Key": "plan-2"})
    assert r.status == 200 and (await r.json())["pending_change"]["plan"] == "CMCC-M1G"


async def test_an_injected_failure_is_not_remembered(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    r = await client.post("/_sim/faults", json={"route": "/v1/cards/{iccid}/top-ups", "method": "POST",
                                                "error_rate": 1.0, "status": 503}, headers=ADMIN)
    assert r.status == 201
    headers = {**H, "Idempotency-Key": "retry-me"}
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "7.00"}, headers=headers)
    assert r.status == 503 and (await r.json())["code"] == "injected_fault"
    assert await top_ups(client, H, iccid) == []
    assert (await client.delete("/_sim/faults", headers=ADMIN)).status == 204
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "7.00"}, headers=headers)
    assert r.status == 201 and REPLAYED not in r.headers
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "7.00"}, headers=headers)
    assert r.status == 201 and r.headers[REPLAYED] == "true"
    assert [p["amount"] for p in await top_ups(client, H, iccid)] == ["7.00"]


async def test_open_card_retried_opens_one_card(client):
    H = (await account(client))["H"]
    headers = {**H, "Idempotency-Key": "order-42"}
    body = {"carrier": "cucc", "plan": "CUCC-M50", "payment": "10"}
    responses = await asyncio.gather(*(client.post("/v1/cards", json=body, headers=headers) for _ in range(5)))
    bodies = {await r.read() for r in responses}
    assert [r.status for r in responses] == [201] * 5 and len(bodies) == 1
    listed = await (await client.get("/v1/cards", headers=H)).json()
    assert len(listed["items"]) == 1


async def test_batch_upload_retried_runs_once(client, acme):
    H, iccid = acme["H"], acme["iccid"]

    def form() -> FormData:
        return batch_form("top_up", csv_upload("top_up", [[iccid, "3.00"]]), "t.csv")

    headers = {**H, "Idempotency-Key": "batch-1"}
    first = await client.post("/v1/batch-jobs", data=form(), headers=headers)
    second = await client.post("/v1/batch-jobs", data=form(), headers=headers)
    assert first.status == second.status == 201
    assert await first.read() == await second.read() and second.headers[REPLAYED] == "true"
    assert len(client.app[STATE].batch_jobs) == 1
    assert await balance(client, H, iccid) == "3.00"


async def test_key_is_ignored_on_reads(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "read"}
    a = await client.get(f"/v1/cards/{iccid}", headers=headers)
    await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers=H)
    b = await client.get(f"/v1/cards/{iccid}", headers=headers)
    assert REPLAYED not in a.headers and REPLAYED not in b.headers
    assert (await a.json())["balance"] == "0.00" and (await b.json())["balance"] == "1.00"


async def test_key_length_is_checked(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers={**H, "Idempotency-Key": "k" * 255})
    assert r.status == 201
    before = digest(client)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers={**H, "Idempotency-Key": "k" * 256})
    assert r.status == 422 and (await r.json())["code"] == "invalid_idempotency_key"
    assert digest(client) == before


async def test_reset_forgets_keys(client):
    H = (await account(client))["H"]
    iccid = await open_active(client, H, payment="5")
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers={**H, "Idempotency-Key": "x"})
    assert r.status == 201
    assert (await client.post("/_sim/reset", json={}, headers=ADMIN)).status == 200
    H = (await account(client))["H"]
    iccid = await open_active(client, H, payment="5")
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers={**H, "Idempotency-Key": "x"})
    assert r.status == 201 and REPLAYED not in r.headers
    assert (await r.json())["card"]["balance"] == "1.00"


async def test_a_retry_serialised_differently_is_the_same_request(client, acme):
    """The same JSON with other spacing or key order is the same body; a different value is not."""
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "reformatted", "Content-Type": "application/json"}
    r = await client.post("/v1/cards", data=b'{"carrier":"cmcc","plan":"CMCC-M30","payment":"3"}', headers=headers)
    assert r.status == 201
    first = await r.read()
    r = await client.post("/v1/cards", data=b'{\n  "payment": "3",\n  "plan": "CMCC-M30",  "carrier": "cmcc"\n}',
                          headers=headers)
    assert (r.status, r.headers[REPLAYED], await r.read()) == (201, "true", first)
    before = digest(client)
    r = await client.post("/v1/cards", data=b'{"carrier":"cmcc","plan":"CMCC-M30","payment":"3.00"}',
                          headers=headers)
    assert r.status == 409 and (await r.json())["code"] == "idempotency_key_reused"
    assert digest(client) == before
    listed = await (await client.get("/v1/cards", headers=H)).json()
    assert [c["plan"] for c in listed["items"]] == ["CMCC-M100", "CMCC-M30"]


async def test_a_malformed_body_with_a_key_is_refused_and_replayed(client, acme):
    H, iccid = acme["H"], acme["iccid"]
    headers = {**H, "Idempotency-Key": "broken", "Content-Type": "application/json"}
    before = digest(client)
    r1 = await client.post(f"/v1/cards/{iccid}/top-ups", data=b'{"amount": ', headers=headers)
    r2 = await client.post(f"/v1/cards/{iccid}/top-ups", data=b'{"amount": ', headers=headers)
    assert (r1.status, r2.status, r2.headers[REPLAYED]) == (400, 400, "true")
    assert await r1.read() == await r2.read()
    assert digest(client) == before
