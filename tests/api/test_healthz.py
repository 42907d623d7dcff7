"""``GET /healthz``: what a container's HEALTHCHECK and a CI job's wait loop ask (the Dockerfile uses it). It needs
no token, answers whatever faults are injected into /v1, and says the version that is running."""

from __future__ import annotations

import carriersim
from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app

from .apihelp import ADMIN, account, ok


async def test_healthz_says_ready_and_the_version_without_a_token(client):
    body = await ok(await client.get("/healthz"))
    assert body == {"ready": True, "version": carriersim.__version__, "worlds": 1}
    assert body["version"] != "0.0.0+unknown"  # the installed distribution's version
    acme = await account(client)
    await ok(await client.post("/_sim/faults", json={"route": "/v1*", "error_rate": 1.0}, headers=ADMIN), 201)
    assert (await client.get("/v1/account", headers=acme["H"])).status == 503
    assert (await ok(await client.get("/healthz")))["ready"] is True  # faults aim at the API, not the health check


async def test_healthz_answers_without_test_control_and_with_a_database(aiohttp_client, tmp_path):
    bare = await aiohttp_client(create_app(Simulation(seed=1), test_control=False))
    assert (await ok(await bare.get("/healthz")))["ready"] is True
    durable = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(tmp_path / "h.db")))
    assert (await ok(await durable.get("/healthz")))["ready"] is True
    assert (await durable.post("/healthz")).status == 405
