"""The OpenAPI 3.1 document: valid, committed in step with the code, served at /openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from carriersim.simulator.http import create_app
from carriersim.simulator.http.spec import OPERATIONS, openapi

COMMITTED = Path(__file__).resolve().parents[2] / "simulator" / "http" / "openapi.json"


def test_document_is_valid_openapi_3_1():
    doc = openapi()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_committed_document_matches_the_code():
    assert json.loads(COMMITTED.read_text("utf-8")) == openapi(), (
        "regenerate it: python -m carriersim.simulator.http.spec > simulator/http/openapi.json")


def test_every_operation_is_routed():
    app = create_app(admin_token="t")
    routed = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    for op in OPERATIONS:
        assert (op.method, op.path) in routed, op.id


async def test_document_is_served(aiohttp_client):
    client = await aiohttp_client(create_app(admin_token="t"))
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    assert await resp.json() == openapi()


async def test_without_test_control_the_document_and_routes_omit_sim(aiohttp_client):
    client = await aiohttp_client(create_app(test_control=False))
    doc = await (await client.get("/openapi.json")).json()
    assert not [p for p in doc["paths"] if p.startswith("/_sim")]
    resp = await client.get("/_sim/clock", headers={"Authorization": "Bearer anything"})
    assert resp.status == 404
    assert (await resp.json())["code"] == "not_found"
