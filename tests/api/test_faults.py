"""Fault injection (``/_sim/faults``): latency and seeded error rates per route, so a platform's retry and timeout
logic can be tested against a misbehaving carrier — and the misbehaviour repeats exactly for the same seed.

Covered: the error sequence on a route is a function of the seed alone (identical after DELETE + re-create, not
disturbed by traffic to other routes or by unauthenticated calls, different for another seed); a prefix route
``/v1/cards*`` matches every card route and nothing else; the method filter; latency is applied; an injected
error changes nothing and carries a problem body (Retry-After on 503/429); ``/_sim`` is never faulted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from carriersim.simulator.identifiers import make_imei

from .apihelp import ADMIN, account, open_active


@pytest.fixture
async def api(client):
    """The test client, an account's headers and its active cmcc card."""
    h = (await account(client))["H"]
    iccid = await open_active(client, h, payment="20", device=make_imei(777))
    return client, h, iccid


async def add_fault(client: Any, **spec: Any) -> dict[str, Any]:
    r = await client.post("/_sim/faults", json=spec, headers=ADMIN)
    assert r.status == 201, await r.text()
    return await r.json()


async def clear(client: Any) -> None:
    r = await client.delete("/_sim/faults", headers=ADMIN)
    assert r.status == 204
    r = await client.get("/_sim/faults", headers=ADMIN)
    assert (await r.json())["items"] == []


async def statuses(client: Any, h: dict[str, str], path: str, n: int, between: str | None = None) -> list[int]:
    """``n`` GETs of ``path``; with ``between``, a GET of that route (and an unauthenticated one) in between."""
    out = []
    for _ in range(n):
        r = await client.get(path, headers=h)
        out.append(r.status)
        await r.read()
        if between:
            assert (await client.get(between, headers=h)).status == 200
            assert (await client.get(path)).status == 401  # no key: refused before any fault is drawn
    return out


async def test_same_seed_same_error_sequence_after_delete_and_recreate(api):
    client, h, iccid = api
    path = f"/v1/cards/{iccid}"
    spec = {"route": "/v1/cards/{iccid}", "method": "GET", "error_rate": 0.4, "seed": 7}
    fault = await add_fault(client, **spec)
    assert fault == {"id": fault["id"], "route": "/v1/cards/{iccid}", "method": "GET", "latency_ms": 0,
                     "error_rate": 0.4, "status": 503, "seed": 7}
    first = await statuses(client, h, path, 40)
    await clear(client)
    assert await statuses(client, h, path, 5) == [200] * 5  # cleared: no faults at all
    await add_fault(client, **spec)
    second = await statuses(client, h, path, 40, between="/v1/account")  # other traffic interleaved
    assert second == first
    assert set(first) == {200, 503} and 8 <= first.count(503) <= 28  # a real mix, not all-or-nothing
    await clear(client)
    await add_fault(client, **{**spec, "seed": 8})
    assert await statuses(client, h, path, 40) != first


async def test_injected_error_is_a_problem_with_retry_after_and_changes_nothing(api):
    client, h, iccid = api
    before = await (await client.get(f"/v1/cards/{iccid}", headers=h)).json()
    await add_fault(client, route="/v1/cards/{iccid}/top-ups", method="POST", error_rate=1.0)
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10"}, headers=h)
    assert r.status == 503
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.headers["Retry-After"] == "1"
    body = await r.json()
    assert body["code"] == "injected_fault" and body["status"] == 503
    after = await (await client.get(f"/v1/cards/{iccid}", headers=h)).json()
    assert after == before
    history = await (await client.get(f"/v1/cards/{iccid}/history", headers=h)).json()
    assert not [e for e in history["items"] if e["kind"] == "payment" and e.get("amount") == "10.00"]


async def test_idempotent_retry_after_an_injected_error_applies_once(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/cards/{iccid}/top-ups", method="POST", error_rate=1.0, status=500)
    key = {**h, "Idempotency-Key": "topup-1"}
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10"}, headers=key)
    assert r.status == 500 and "Retry-After" not in r.headers
    await clear(client)
    r1 = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10"}, headers=key)
    r2 = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "10"}, headers=key)
    assert r1.status == r2.status == 201
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert (await r1.json()) == (await r2.json())
    card = await (await client.get(f"/v1/cards/{iccid}", headers=h)).json()
    assert card["balance"] == "25.00"  # 20 paid - 5 plan + 10 once


async def test_custom_status_429_has_retry_after(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/account", error_rate=1.0, status=429)
    r = await client.get("/v1/account", headers=h)
    assert r.status == 429 and r.headers["Retry-After"] == "1"
    assert (await r.json())["code"] == "injected_fault"


CARD_ROUTES = ["/v1/cards", "/v1/cards/{iccid}", "/v1/cards/{iccid}/history", "/v1/cards/{iccid}/usage",
               "/v1/cards/{iccid}/ledger"]
OTHER_ROUTES = ["/v1/account", "/v1/carriers", "/v1/carriers/cmcc/plans", "/v1/events", "/v1/pools",
                "/v1/webhooks"]


async def test_prefix_route_matches_every_card_route_and_nothing_else(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/cards*", error_rate=1.0, status=502)
    for route in CARD_ROUTES:
        r = await client.get(route.format(iccid=iccid), headers=h)
        assert r.status == 502, route
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=h)
    assert r.status == 502
    for route in OTHER_ROUTES:
        r = await client.get(route, headers=h)
        assert r.status == 200, route


async def test_exact_template_matches_only_that_route(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/cards/{iccid}", error_rate=1.0)
    assert (await client.get(f"/v1/cards/{iccid}", headers=h)).status == 503
    for route in CARD_ROUTES:
        if route != "/v1/cards/{iccid}":
            assert (await client.get(route.format(iccid=iccid), headers=h)).status == 200, route


async def test_method_filter(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/cards*", method="POST", error_rate=1.0)
    assert (await client.get(f"/v1/cards/{iccid}", headers=h)).status == 200
    assert (await client.get("/v1/cards", headers=h)).status == 200
    assert (await client.post(f"/v1/cards/{iccid}/suspension", headers=h)).status == 503
    assert (await client.delete(f"/v1/cards/{iccid}/device", headers=h)).status == 200  # DELETE unaffected
    await clear(client)
    await add_fault(client, route="/v1/cards*", method="GET", error_rate=1.0)
    assert (await client.get(f"/v1/cards/{iccid}", headers=h)).status == 503
    r = await client.post(f"/v1/cards/{iccid}/suspension", headers=h)
    assert r.status == 200 and (await r.json())["state"] == "suspended"


async def test_latency_is_applied_and_the_request_then_succeeds(api):
    client, h, iccid = api
    await add_fault(client, route="/v1/cards/{iccid}", method="GET", latency_ms=150)
    t0 = time.perf_counter()
    r = await client.get(f"/v1/cards/{iccid}", headers=h)
    elapsed = time.perf_counter() - t0
    assert r.status == 200 and (await r.json())["iccid"] == iccid
    assert elapsed >= 0.15
    # latency and errors together: the delay comes first, then the (seeded) failure
    await clear(client)
    await add_fault(client, route="/v1/account", latency_ms=100, error_rate=1.0)
    t0 = time.perf_counter()
    r = await client.get("/v1/account", headers=h)
    assert r.status == 503 and time.perf_counter() - t0 >= 0.1


async def test_sim_routes_are_never_faulted(api):
    client, h, iccid = api
    await add_fault(client, route="/v1*", method="*", latency_ms=0, error_rate=1.0)
    assert (await client.get("/v1/account", headers=h)).status == 503
    assert (await client.get("/_sim/clock", headers=ADMIN)).status == 200
    assert (await client.get("/_sim/faults", headers=ADMIN)).status == 200
    r = await client.post(f"/_sim/cards/{iccid}/usage", json={"mb": 1}, headers=ADMIN)
    assert r.status == 200 and (await r.json())["accepted_kb"] == 1024
    r = await client.post("/_sim/clock/advance", json={"by": "1 day"}, headers=ADMIN)
    assert r.status == 200
    # a fault cannot even be aimed at /_sim (or at anything outside /v1)
    for route in ("/_sim/clock", "/_sim*", "*", "/openapi.json"):
        r = await client.post("/_sim/faults", json={"route": route, "error_rate": 1.0}, headers=ADMIN)
        assert r.status == 422 and (await r.json())["code"] == "invalid_body", route
    r = await client.get("/_sim/faults", headers=ADMIN)
    assert len((await r.json())["items"]) == 1
    await clear(client)
    assert (await client.get("/v1/account", headers=h)).status == 200


async def test_bad_fault_specs_are_refused_and_add_nothing(api):
    client, _, _ = api
    for spec in ({"route": "/v1/account", "error_rate": 1.5}, {"route": "/v1/account", "error_rate": -0.1},
                 {"route": "/v1/account", "status": 200}, {"route": "/v1/account", "status": 600},
                 {"route": "/v1/account", "latency_ms": -1}, {"route": "/v1/account", "method": "PATCH"},
                 {"error_rate": 0.5}, {"route": "/v1/account", "bogus": 1}):
        r = await client.post("/_sim/faults", json=spec, headers=ADMIN)
        assert r.status == 422, spec
        assert (await r.json())["code"] == "invalid_body"
    r = await client.get("/_sim/faults", headers=ADMIN)
    assert (await r.json())["items"] == []


async def test_reset_clears_faults(api):
    client, h, _ = api
    await add_fault(client, route="/v1*", error_rate=1.0)
    r = await client.post("/_sim/reset", json={}, headers=ADMIN)
    assert r.status == 200
    assert (await (await client.get("/_sim/faults", headers=ADMIN)).json())["items"] == []


async def test_a_route_that_matches_no_operation_is_refused(api):
    """A concrete path or a typo would otherwise be accepted and never fire: the test would pass for nothing."""
    client, _, iccid = api
    for spec in ({"route": f"/v1/cards/{iccid}"}, {"route": "/v1/card/{iccid}"}, {"route": "/v1/nothing*"},
                 {"route": "/v1/account", "method": "POST"}, {"route": "/v1/events", "method": "DELETE"}):
        r = await client.post("/_sim/faults", json={**spec, "error_rate": 1.0}, headers=ADMIN)
        assert r.status == 422, spec
        body = await r.json()
        assert body["code"] == "unknown_route" and spec["route"] in body["detail"]
    assert (await (await client.get("/_sim/faults", headers=ADMIN)).json())["items"] == []
    fault = await add_fault(client, route="/v1/account", error_rate=1.0)
    assert fault["id"] == "fault-1"  # refused specs used up no ids
