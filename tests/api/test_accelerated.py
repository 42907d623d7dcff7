"""The accelerated clock (``clock="accelerated"``): simulated time = anchor + (wall − wall anchor) × rate.

The only tests in the suite that patch time, and only the wall clock the driver reads (``time.monotonic``, via
freezegun with ``real_asyncio=True`` so the event loop keeps real time): one real second at rate 86400 is exactly
one simulated day; 31 of them start a cycle, so a card without auto-renewal expires on its own (EXP-1); frozen
mode stops time and resuming does not count the frozen stretch; a rate change settles the time run so far first;
``POST /_sim/clock/mode`` and ``GET /_sim/clock`` over HTTP; the background ticker advances without any request and
wakes the webhooks. One test runs the real ticker against the real clock for a fraction of a second.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from freezegun import freeze_time

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http import views as native
from carriersim.simulator.http.app import STATE
from carriersim.simulator.http.clock_driver import ClockDriver
from carriersim.simulator.http.webhooks import SIGNATURE_HEADER, verify
from carriersim.simulator.identifiers import make_imei
from carriersim.simulator.profile import builtin_profiles

from .apihelp import ADMIN, account, open_active

DAY = 86400
START_ISO = "2027-01-01T00:00:00+08:00"
WALL = datetime(2030, 6, 1, 12, 0, 0)


@pytest.fixture
def freezer():
    """Wall time frozen at WALL; move it with ``freezer.tick(seconds)`` / ``freezer.move_to(datetime)``."""
    # the profiles and the holiday calendar are cached for the process: load them with real dates first, or every
    # later world would carry freezegun's FakeDate objects (which snapshots rightly refuse to load)
    builtin_profiles()
    # pytest times tests with perf_counter from _pytest.timing: let it see real time, or --durations shows decades
    with freeze_time(WALL, real_asyncio=True, ignore=["_pytest.timing"]) as frozen:
        yield frozen


def expiring_card(sim: Simulation) -> tuple[str, str]:
    """A monthly card opened 2027-01-01 with auto-renew off: its term ends at the 2027-02-01 cycle start."""
    account = sim.create_account("Acme", verified=True)
    iccid = sim.open_card(account, "cmcc", "CMCC-M100", payment="20", auto_renew=False)
    sim.activate(account, iccid, make_imei(4242))
    return account, iccid


# ---------------------------------------------------------------------------------------------------- the driver


def test_one_real_second_is_exactly_one_simulated_day(freezer):
    sim = Simulation(seed=1)
    start = sim.now
    driver = ClockDriver(lambda: sim, "accelerated", 86400)
    driver.tick()
    assert sim.now == start  # no wall time has passed
    freezer.tick(1)
    driver.tick()
    assert sim.now == start + DAY
    assert sim.iso(sim.now) == "2027-01-02T00:00:00+08:00"
    freezer.tick(timedelta(seconds=2))
    driver.tick()
    assert sim.now == start + 3 * DAY
    freezer.move_to(WALL + timedelta(seconds=10))
    driver.tick()
    assert sim.now == start + 10 * DAY
    driver.tick()  # ticking again without wall time passing changes nothing
    assert sim.now == start + 10 * DAY


def test_sub_second_steps_are_exact_too(freezer):
    """freezegun's monotonic clock is ~1.9e9 s, where a float difference of 0.1 s comes out a hair short."""
    sim = Simulation(seed=1)
    start = sim.now
    driver = ClockDriver(lambda: sim, "accelerated", 86400)
    freezer.tick(0.1)
    driver.tick()
    assert sim.now == start + 8640
    freezer.tick(0.6)
    driver.tick()
    assert sim.now == start + 60480  # 0.7 s
    for _ in range(3):
        freezer.tick(0.1)
        driver.tick()
    assert sim.now == start + DAY  # 1.0 s in all: no drift accumulated from the steps


def test_exp1_thirty_one_accelerated_days_start_a_cycle_and_expire_the_card(freezer):
    sim = Simulation(seed=1)
    _, iccid = expiring_card(sim)
    driver = ClockDriver(lambda: sim, "accelerated", 86400)
    freezer.tick(30)
    driver.tick()
    assert sim.iso(sim.now) == "2027-01-31T00:00:00+08:00"
    assert native.card(sim.card(iccid))["state"] == "active"
    freezer.tick(1)
    driver.tick()
    assert sim.iso(sim.now) == "2027-02-01T00:00:00+08:00"
    card = native.card(sim.card(iccid))
    assert card["state"] == "retained" and card["reasons"] == ["expired"]
    expired = [native.event(e) for e in sim.history(iccid) if e.kind.label == "expired"]
    assert len(expired) == 1 and expired[0]["cause"] == "clock" and expired[0]["time"] == sim.iso(sim.now)


def test_frozen_mode_stops_time_and_resuming_does_not_count_the_pause(freezer):
    sim = Simulation(seed=1)
    start = sim.now
    driver = ClockDriver(lambda: sim, "accelerated", 86400)
    freezer.tick(2)
    driver.set_mode("frozen")  # settles the two days run so far
    assert sim.now == start + 2 * DAY
    freezer.tick(100)
    driver.tick()
    assert sim.now == start + 2 * DAY
    driver.set_mode("accelerated")
    driver.tick()
    assert sim.now == start + 2 * DAY  # the frozen 100 s are not made up for
    freezer.tick(1)
    driver.tick()
    assert sim.now == start + 3 * DAY


def test_a_rate_change_settles_the_time_run_at_the_old_rate_first(freezer):
    sim = Simulation(seed=1)
    start = sim.now
    driver = ClockDriver(lambda: sim, "accelerated", 86400)
    freezer.tick(1)
    driver.set_mode("accelerated", rate=3600)
    assert sim.now == start + DAY and driver.rate == 3600
    freezer.tick(2)
    driver.tick()
    assert sim.now == start + DAY + 2 * 3600


def test_a_frozen_driver_never_moves_the_clock(freezer):
    sim = Simulation(seed=1)
    start = sim.now
    driver = ClockDriver(lambda: sim, "frozen", 86400)
    freezer.tick(1000)
    driver.tick()
    assert sim.now == start


# ---------------------------------------------------------------------------------------------------- over HTTP


async def get_clock(client: Any) -> dict[str, Any]:
    r = await client.get("/_sim/clock", headers=ADMIN)
    assert r.status == 200
    return await r.json()


async def set_mode(client: Any, **body: Any) -> dict[str, Any]:
    r = await client.post("/_sim/clock/mode", json=body, headers=ADMIN)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_clock_mode_and_clock_over_http(aiohttp_client, freezer):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin"))
    assert await get_clock(client) == {"now": START_ISO, "mode": "frozen", "rate": 86400.0}
    freezer.tick(5)
    assert (await get_clock(client))["now"] == START_ISO
    view = await set_mode(client, mode="accelerated", rate=86400)
    assert view == {"now": START_ISO, "mode": "accelerated", "rate": 86400}
    freezer.tick(2)
    assert (await get_clock(client))["now"] == "2027-01-03T00:00:00+08:00"
    view = await set_mode(client, mode="accelerated", rate=3600)  # settles at the old rate, then the new one
    assert view["now"] == "2027-01-03T00:00:00+08:00" and view["rate"] == 3600
    freezer.tick(3)
    assert (await get_clock(client))["now"] == "2027-01-03T03:00:00+08:00"
    view = await set_mode(client, mode="frozen")
    assert view == {"now": "2027-01-03T03:00:00+08:00", "mode": "frozen", "rate": 3600}
    freezer.tick(50)
    assert (await get_clock(client))["now"] == "2027-01-03T03:00:00+08:00"


async def test_bad_mode_requests_are_refused_and_change_nothing(aiohttp_client, freezer):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", clock="accelerated"))
    before = await get_clock(client)
    for body in ({"mode": "fast"}, {"mode": "accelerated", "rate": 0}, {"mode": "accelerated", "rate": -5},
                 {"rate": 10}, {"mode": "accelerated", "rate": "fast"}, {"mode": "frozen", "extra": 1}):
        r = await client.post("/_sim/clock/mode", json=body, headers=ADMIN)
        assert r.status == 422, body
        assert (await r.json())["code"] == "invalid_body"
    r = await client.post("/_sim/clock/mode", json={"mode": "frozen"})
    assert r.status == 401
    assert await get_clock(client) == before


async def test_manual_advance_while_accelerated_is_not_counted_twice(aiohttp_client, freezer):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", clock="accelerated"))
    freezer.tick(1)
    r = await client.post("/_sim/clock/advance", json={"by": "1 month"}, headers=ADMIN)
    assert r.status == 200
    assert (await r.json())["now"] == "2027-02-02T00:00:00+08:00"  # the accelerated day, then the month
    freezer.tick(1)
    assert (await get_clock(client))["now"] == "2027-02-03T00:00:00+08:00"


async def test_time_before_the_server_starts_is_not_accelerated(aiohttp_client, freezer):
    """Building the app (and a fleet) before listening must not turn into a jump at the first tick."""
    app = create_app(Simulation(seed=1), admin_token="admin", clock="accelerated")
    freezer.tick(10)  # e.g. `carriersim serve --fleet 100000` generating cards after create_app
    client = await aiohttp_client(app)
    assert (await get_clock(client))["now"] == START_ISO
    freezer.tick(1)
    assert (await get_clock(client))["now"] == "2027-01-02T00:00:00+08:00"


async def test_background_ticker_expires_the_card_and_the_webhook_hears_it(aiohttp_client, freezer):
    hits: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append((await request.read(), request.headers[SIGNATURE_HEADER]))
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        sim = Simulation(seed=1)
        app = create_app(sim, admin_token="admin", clock="accelerated", rate=86400, webhook_backoff=0.02)
        client = await aiohttp_client(app)
        h = (await account(client))["H"]
        iccid = await open_active(client, h, payment="5", auto_renew=False, device=make_imei(4243))
        r = await client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook"}, headers=h)
        secret = (await r.json())["secret"]

        freezer.tick(31)  # no request from here on: only the background ticker can move the clock
        state = app[STATE]
        deadline = time.perf_counter() + 5
        while not any(b'"kind": "expired"' in body for body, _ in hits):
            assert time.perf_counter() < deadline, "the ticker did not expire the card (or no webhook came)"
            await asyncio.sleep(0.01)
        assert state.sim.now == sim.now and sim.iso(sim.now) == "2027-02-01T00:00:00+08:00"
        assert native.card(sim.card(iccid))["state"] == "retained"
        assert all(verify(secret, body, sig) for body, sig in hits)
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------------------------------- real time


async def test_real_background_ticker_moves_time_forward(aiohttp_client):
    rate = 36_000.0  # ten simulated hours per real second
    sim = Simulation(seed=1)
    start = sim.now
    t0 = time.monotonic()
    await aiohttp_client(create_app(sim, admin_token="admin", clock="accelerated", rate=rate))
    await asyncio.sleep(0.3)  # no requests: the ticker alone (every 50 ms) moves the clock
    elapsed = time.monotonic() - t0
    moved = sim.now - start
    assert moved > 0
    assert moved <= elapsed * rate + 1  # never ahead of the wall clock × rate


async def test_the_ticker_survives_a_failed_advance(aiohttp_client, caplog):
    sim = Simulation(seed=1)
    start = sim.now
    real_advance = sim.advance
    calls = {"n": 0}

    def advance(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated engine failure")
        return real_advance(*args, **kwargs)

    sim.advance = advance  # type: ignore[method-assign]
    await aiohttp_client(create_app(sim, admin_token="admin", clock="accelerated", rate=36_000.0))
    deadline = time.perf_counter() + 5
    while sim.now == start:  # the first tick fails; the next ones must still run
        assert time.perf_counter() < deadline, "the ticker stopped after a failure"
        await asyncio.sleep(0.01)
    assert calls["n"] >= 2
    assert "accelerated clock: advance failed" in caplog.text
