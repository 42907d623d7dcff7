"""Worlds with ``--db`` (issue 11): each world durable in a file of its own beside the database.

- In process: worlds come back after a restart with their ids, tokens, keys, clocks, cards, snapshots and rewind;
  deleting a world deletes its file; a stray file in the worlds folder is refused with a clear message.
- Acceptance, as real processes: ``carriersim serve --db`` is killed with SIGKILL while four worlds are being
  written concurrently; after a restart every write any world acknowledged is there.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.durable.store import StoreError
from carriersim.simulator.http import create_app
from carriersim.simulator.http.app import WORLDS

from .apihelp import ADMIN, imei, ok, refused
from .test_durability_crash import servers, start  # noqa: F401  (servers is a fixture)

TOKEN_HEADERS = {"Authorization": "Bearer T"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def build_world(client, n: int) -> dict[str, Any]:
    w = await ok(await client.post("/_sim/worlds", json={"seed": 10 + n}, headers=ADMIN), 201)
    W = bearer(w["admin_token"])
    acct = await ok(await client.post(f"{w['control']}/accounts", json={"name": f"w{n}", "verified": True},
                                      headers=W), 201)
    key = bearer(acct["api_key"])
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "payment": "30"},
                                      headers=key), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={"imei": imei()}, headers=key))
    await ok(await client.post(f"{w['control']}/clock/advance", json={"by": f"{n + 1} days"}, headers=W))
    return {**w, "W": W, "key": key, "iccid": card["iccid"]}


async def seen(client, w) -> tuple[str, dict[str, Any]]:
    clock = await ok(await client.get(f"{w['control']}/clock", headers=w["W"]))
    return clock["now"], await ok(await client.get(f"/v1/cards/{w['iccid']}", headers=w["key"]))


async def test_worlds_come_back_after_a_restart_and_deleted_ones_do_not(aiohttp_client, tmp_path):
    db = tmp_path / "state.db"
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(db)))
    worlds = [await build_world(client, n) for n in range(3)]
    # a named snapshot and a rewind in world 0, a top-up in world 1
    w0, w1, w2 = worlds
    await ok(await client.post(f"{w0['control']}/snapshots", json={"name": "before"}, headers=w0["W"]), 201)
    await ok(await client.post(f"{w0['control']}/clock/advance", json={"by": "2 months"}, headers=w0["W"]))
    await ok(await client.post(f"{w0['control']}/rewind", json={"to": "2027-01-15T00:00:00+08:00"},
                               headers=w0["W"]))
    await ok(await client.post(f"/v1/cards/{w1['iccid']}/top-ups", json={"amount": "12.34"}, headers=w1["key"]),
             201)
    before = [await seen(client, w) for w in worlds]
    assert before[0][0] == "2027-01-15T00:00:00+08:00"
    await ok(await client.delete(f"/_sim/worlds/{w2['id']}", headers=w2["W"]), 204)
    files = sorted(p.name for p in (tmp_path / "state.db.worlds").glob("*.db"))
    assert files == sorted(f"{w['id']}.db" for w in (w0, w1))
    await client.close()

    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(db)))
    listed = [w["id"] for w in (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"]]
    assert listed == ["default", w0["id"], w1["id"]]
    assert [await seen(client, w) for w in (w0, w1)] == before[:2]
    snaps = await ok(await client.get(f"{w0['control']}/snapshots", headers=w0["W"]))
    assert "before" in [s["name"] for s in snaps["items"]]
    assert (await ok(await client.get(f"{w1['control']}/snapshots", headers=w1["W"])))["items"][0]["name"] is None
    await refused(await client.get(f"/_sim/worlds/{w2['id']}", headers=ADMIN), 404, "world_not_found")
    await refused(await client.get("/v1/account", headers=w2["key"]), 401, "unauthorized")
    # the restored world keeps journaling: a write after the restart survives the next one too
    await ok(await client.post(f"{w1['control']}/clock/advance", json={"by": "1 day"}, headers=w1["W"]))
    after = await seen(client, w1)
    await client.close()
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(db)))
    assert await seen(client, w1) == after
    await client.close()


async def test_a_world_file_without_a_world_record_is_refused_with_advice(tmp_path):
    db = tmp_path / "state.db"
    create_app(db=str(db))[WORLDS].default.durability.store.close()  # the default world's file
    folder = tmp_path / "state.db.worlds"
    folder.mkdir()
    stray = folder / "w0123456789.db"
    create_app(db=str(stray))[WORLDS].default.durability.store.close()  # a carriersim file, but no world's
    with pytest.raises(StoreError, match="not a world file of this server.*move it out"):
        create_app(db=str(db))


# ---------------------------------------------------------------------------------------------- SIGKILL

WRITERS = 4
TOP_UPS = 400  # each writer sends up to this many; the kill comes first


def test_sigkill_while_several_worlds_are_written_loses_no_acknowledged_write(servers, tmp_path):  # noqa: F811
    db = tmp_path / "crash.db"
    server = start(servers, db)
    admin = server.http()
    worlds = []
    for n in range(WRITERS):
        status, w = admin.call("POST", "/_sim/worlds", {"seed": n}, TOKEN_HEADERS)
        assert status == 201, w
        W = bearer(w["admin_token"])
        status, acct = admin.call("POST", f"{w['control']}/accounts", {"name": "x", "verified": True}, W)
        key = bearer(acct["api_key"])
        status, card = admin.call("POST", "/v1/cards", {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "10"},
                                  key)
        assert status == 201, card
        worlds.append({**w, "W": W, "key": key, "iccid": card["iccid"], "acked": [], "advanced": 0})
    stop = threading.Event()

    def write(w: dict[str, Any]) -> None:
        conn = server.http()
        for k in range(TOP_UPS):
            if stop.is_set():
                return
            try:
                if k % 25 == 24:  # now and then the clock too: a day each time
                    status, _ = conn.call("POST", f"{w['control']}/clock/advance", {"by": "1 day"}, w["W"])
                    if status == 200:
                        w["advanced"] += 1
                    continue
                amount = f"{k % 7 + 1}.{k % 100:02d}"
                status, answer = conn.call("POST", f"/v1/cards/{w['iccid']}/top-ups", {"amount": amount}, w["key"])
            except (OSError, ValueError, json.JSONDecodeError, Exception):  # the kill cut the connection
                return
            if status == 201:
                w["acked"].append((answer["payment"], Decimal(amount)))

    threads = [threading.Thread(target=write, args=(w,)) for w in worlds]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(len(w["acked"]) for w in worlds) < WRITERS * 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL while every writer has requests in flight
    stop.set()
    for t in threads:
        t.join(10)
    assert all(len(w["acked"]) >= 10 for w in worlds), [len(w["acked"]) for w in worlds]

    again = start(servers, db)
    conn = again.http()
    status, listing = conn.call("GET", "/_sim/worlds", None, TOKEN_HEADERS)
    assert [x["id"] for x in listing["items"]][1:] == [w["id"] for w in worlds]
    for w in worlds:
        status, ledger = conn.call("GET", f"/v1/cards/{w['iccid']}/ledger", None, w["key"])
        assert status == 200, ledger
        payments = {row["seq"]: Decimal(row["amount"]) for row in ledger["items"] if row["kind"] == "payment"}
        missing = [(seq, amount) for seq, amount in w["acked"] if payments.get(seq) != amount]
        assert not missing, (w["id"], missing[:5])
        status, clock = conn.call("GET", f"{w['control']}/clock", None, w["W"])
        assert clock["now"] >= f"2027-01-{1 + w['advanced']:02d}", (clock, w["advanced"])
        # the ledger balances
        assert sum(Decimal(r["amount"]) for r in ledger["items"]) == Decimal(ledger["balance"])
    again.stop()


async def test_a_world_whose_file_cannot_be_made_is_a_clear_503(aiohttp_client, tmp_path):
    db = tmp_path / "state.db"
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", db=str(db)))
    (tmp_path / "state.db.worlds").write_text("a file where the worlds' folder should be")
    body = await refused(await client.post("/_sim/worlds", json={}, headers=ADMIN), 503, "world_storage_failed")
    assert "state.db.worlds" in body["detail"] and "--db folder" in body["detail"]
    assert [w["id"] for w in (await ok(await client.get("/_sim/worlds", headers=ADMIN)))["items"]] == ["default"]
