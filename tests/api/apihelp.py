"""Helpers the HTTP API tests share: the admin token's headers, accounts and cards made over HTTP, response checks
and batch-upload builders. Import them with ``from .apihelp import ...``; the fixtures are in conftest.py."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import FormData

from carriersim.simulator.batch_files import write_template
from carriersim.simulator.http.app import STATE
from carriersim.simulator.identifiers import make_imei

ADMIN = {"Authorization": "Bearer admin"}  # the test-control token every test app is made with

_imeis = itertools.count(50_000)


def imei() -> str:
    """A fresh valid IMEI, different on every call."""
    return make_imei(next(_imeis))


async def ok(resp, status: int = 200) -> Any:
    """Assert ``resp`` answered ``status`` (with a JSON body unless 204) and return that body (None for 204)."""
    text = await resp.text()
    assert resp.status == status, text
    if status == 204:
        return None
    assert resp.content_type == "application/json", resp.content_type
    return await resp.json()


async def refused(resp, status: int, code: str) -> dict[str, Any]:
    """Assert ``resp`` is a problem document of ``status`` with ``code`` and return it."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "application/problem+json", resp.content_type
    body = await resp.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def account(client, name: str = "Acme", **body: Any) -> dict[str, Any]:
    """Create a (by default verified) account over test control: its ``id``, API ``key`` and auth headers ``H``."""
    data = await ok(await client.post("/_sim/accounts", json={"name": name, "verified": True, **body},
                                      headers=ADMIN), 201)
    return {"id": data["account"]["id"], "key": data["api_key"], "H": {"Authorization": f"Bearer {data['api_key']}"}}


async def open_card(client, H, carrier: str = "cmcc", plan: str = "CMCC-M100", payment: Any = "100",
                    **options: Any) -> dict[str, Any]:
    """Open a card with ``payment`` for the account of headers ``H``; returns the card as answered (201)."""
    r = await client.post("/v1/cards", json={"carrier": carrier, "plan": plan, "payment": payment, **options},
                          headers=H)
    return await ok(r, 201)


async def open_active(client, H, carrier: str = "cmcc", plan: str = "CMCC-M100", payment: Any = "100",
                      device: str | None = None, **options: Any) -> str:
    """Open a card and activate it on ``device`` (a fresh IMEI by default); returns its ICCID."""
    iccid = (await open_card(client, H, carrier, plan, payment, **options))["iccid"]
    await ok(await client.post(f"/v1/cards/{iccid}/activation", json={"imei": device or imei()}, headers=H))
    return iccid


async def card(client, H, iccid: str) -> dict[str, Any]:
    """The card as ``GET /v1/cards/{iccid}`` shows it to headers ``H``."""
    return await ok(await client.get(f"/v1/cards/{iccid}", headers=H))


async def usage(client, iccid: str, **body: Any) -> dict[str, Any]:
    """Report usage (or region, device) for the card as the network would; returns the answer."""
    return await ok(await client.post(f"/_sim/cards/{iccid}/usage", json=body, headers=ADMIN))


async def advance(client, **body: Any) -> dict[str, Any]:
    """Move the simulated clock (``by=`` or ``to=``) and return the answer once the world has settled."""
    return await ok(await client.post("/_sim/clock/advance", json=body, headers=ADMIN))


def digest(client) -> str:
    """The digest of the whole simulated world behind ``client``'s app."""
    return client.app[STATE].sim.digest()


def csv_upload(operation: str, rows: list[list[str]]) -> bytes:
    """The operation's CSV template with ``rows`` appended below its header."""
    return write_template(operation, "csv") + "".join(",".join(r) + "\r\n" for r in rows).encode()


def batch_form(operation: str, data: bytes, filename: str, document: str | None = None) -> FormData:
    """The multipart body of ``POST /v1/batch-jobs``: ``operation``, optional ``document`` and the file."""
    form = FormData()
    form.add_field("operation", operation)
    if document is not None:
        form.add_field("document", document)
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return form
