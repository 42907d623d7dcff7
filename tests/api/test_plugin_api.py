"""An API is one module: a third API over the same engine, in a few dozen lines, mounted beside the native API.

``TinyApi`` speaks a made-up vendor dialect (HTTP Basic with the account's key as the password, status words,
errors as ``{"error", "reason"}``, a per-account rate limit). Its write is an engine operation run through
``Ctx.run``, so it is journaled like any native write and replays after a restart; the native API sees its
effect, and PLAN-3 holds through it (another account's card is not found).
"""

from __future__ import annotations

import base64
from typing import Any, Iterable

from aiohttp import web

from carriersim.simulator import Simulation
from carriersim.simulator.errors import SimError
from carriersim.simulator.http import create_app
from carriersim.simulator.http.api import Api, Route
from carriersim.simulator.http.app import OPENED, STATE, Ctx, ServerState, default_apis
from carriersim.simulator.http.problems import ProblemError
from carriersim.simulator.http.ratelimit import RateLimit
from carriersim.simulator.http.worlds import Worlds

from .apihelp import account, card, ok, open_active

# ----------------------------------------------------------------------------------------------- the plug-in


class TinyApi(Api):
    name, prefix = "tiny", "/tiny"
    WORDS = {"active": "ON", "suspended": "OFF", "retained": "KEEP", "cancelled": "GONE"}

    def __init__(self, rate_limit: RateLimit | None = None) -> None:
        self.rate_limit = rate_limit

    def routes(self) -> Iterable[Route]:
        yield Route("GET", "/tiny/sims/{iccid}", "tinyGet", self.get)
        yield Route("POST", "/tiny/sims/{iccid}/off", "tinyOff", self.off)

    def authenticate(self, request: web.Request, worlds: Worlds, route: Route) -> tuple[ServerState, str]:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            key = base64.b64decode(encoded).decode().partition(":")[2] if scheme == "Basic" else ""
        except ValueError:
            key = ""
        found = worlds.for_key(key) if key else None  # the key says which world and account
        if found is None:
            raise ProblemError(401, "auth", "bad credentials")
        return found

    def get(self, ctx: Ctx) -> dict[str, Any]:
        c = ctx.sim.card(ctx.params["iccid"], ctx.caller)
        return {"sim": c.iccid, "status": self.WORDS.get(c.state.label, "NEW"), "fen": c.balance}

    def off(self, ctx: Ctx) -> tuple[int, dict[str, Any]]:
        ctx.run("suspend", {"iccid": ctx.params["iccid"]})
        return 202, self.get(ctx)

    def render_problem(self, exc: ProblemError) -> web.StreamResponse:
        return web.json_response({"error": exc.code, "reason": exc.detail}, status=exc.status)

    def render_error(self, exc: SimError) -> web.StreamResponse:
        return web.json_response({"error": exc.code, "reason": exc.message}, status=exc.status)

    def rate_limited(self, wait: float) -> ProblemError:
        return ProblemError(429, "slow_down", f"wait {wait:.1f}s")


# ----------------------------------------------------------------------------------------------- the tests


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"user:{key}".encode()).decode()}


async def tiny_client(aiohttp_client, **kw: Any):
    api = kw.pop("api", TinyApi())
    return await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin",
                                           apis=[*default_apis(), api], **kw))


async def test_a_plugin_api_reads_and_writes_the_same_world_as_the_native_api(aiohttp_client):
    client = await tiny_client(aiohttp_client)
    a = await account(client)
    iccid = await open_active(client, a["H"])
    assert await ok(await client.get(f"/tiny/sims/{iccid}", headers=basic(a["key"]))) == \
        {"sim": iccid, "status": "ON", "fen": 9500}
    r = await client.post(f"/tiny/sims/{iccid}/off", headers=basic(a["key"]))
    assert r.status == 202 and (await r.json())["status"] == "OFF"
    assert (await card(client, a["H"], iccid))["reasons"] == ["manual"]  # the native API sees it
    refused = await client.post(f"/tiny/sims/{iccid}/off", headers=basic(a["key"]))  # MAN-1: already stopped
    assert refused.status == 409 and (await refused.json())["error"] == "already_suspended"
    # the native API is untouched by the plug-in's rendering
    native = await client.post(f"/v1/cards/{iccid}/suspension", headers=a["H"])
    assert native.content_type == "application/problem+json"


async def test_plan3_holds_through_a_plugin_api_and_credentials_are_its_own(aiohttp_client):
    client = await tiny_client(aiohttp_client)
    a, b = await account(client, "A"), await account(client, "B")
    iccid = await open_active(client, a["H"])
    other = await client.get(f"/tiny/sims/{iccid}", headers=basic(b["key"]))
    assert other.status == 404 and (await other.json())["error"] == "card_not_found"
    nobody = await client.get(f"/tiny/sims/{iccid}", headers={"Authorization": f"Bearer {a['key']}"})
    assert nobody.status == 401 and await nobody.json() == {"error": "auth", "reason": "bad credentials"}


async def test_a_plugin_api_declares_its_rate_limit_and_renders_the_refusal(aiohttp_client):
    now = [0.0]
    client = await tiny_client(aiohttp_client, api=TinyApi(RateLimit(rate=1.0, burst=2, clock=lambda: now[0])))
    a = await account(client)
    iccid = await open_active(client, a["H"])
    statuses = [(await client.get(f"/tiny/sims/{iccid}", headers=basic(a["key"]))).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    now[0] += 1.0  # a token comes back each second
    assert (await client.get(f"/tiny/sims/{iccid}", headers=basic(a["key"]))).status == 200
    assert (await client.get(f"/v1/cards/{iccid}", headers=a["H"])).status == 200  # the native API has none


async def test_a_plugin_apis_writes_are_journaled_as_engine_operations_and_replay(aiohttp_client, tmp_path):
    db = str(tmp_path / "tiny.db")
    client = await tiny_client(aiohttp_client, db=db)
    a = await account(client)
    iccid = await open_active(client, a["H"])
    await ok(await client.post(f"/tiny/sims/{iccid}/off", headers=basic(a["key"])), 202)
    st = client.app[STATE]
    ops = [e.op for e in st.durability.store.entries(0)]
    assert ops == ["create_account", "open_card", "activate", "suspend"]
    st.durability.store.close()  # as a killed process stops: no final snapshot, so the restart must replay
    st.durability = None
    await client.close()
    client = await tiny_client(aiohttp_client, db=db)
    assert client.app[OPENED]["replayed"] == 4  # through the operation table, the plug-in's write included
    assert (await card(client, a["H"], iccid))["reasons"] == ["manual"]
    assert (await ok(await client.get(f"/tiny/sims/{iccid}", headers=basic(a["key"]))))["status"] == "OFF"
