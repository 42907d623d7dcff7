"""Durable state (issue 4) in process: ``create_app(db=...)``, the journal, snapshots, restore and rewind.

- Replay determinism: the world rebuilt from the file equals the world before the restart byte for byte in the
  canonical dump — after a clean stop (final snapshot, nothing replayed) and after a crash (the store closed without
  the final snapshot: an older snapshot plus the journal after it), with accelerated ticks, a batch upload and
  idempotent requests in the history; a retry with the same Idempotency-Key after the restart is answered with the
  first response and applied once. Replay never reads the wall clock.
- Rewind (acceptance): six months of cards, usage, top-ups and plan changes; rewound to month 2 every card reads
  exactly as it did at month 2 (view, history, ledger, usage) and the world's digest is month 2's; the same months
  again give the same result. Rewind into the middle of a long advance, across an earlier restore, across a reset;
  into the future (409), before the world began (409), without --db (409 durability_disabled); the rewound world
  survives a restart.
- Snapshots: create, list, restore by name (the exact digest back), duplicate 409, unknown 404; export from one
  database and import into another, restore there: the same world, whose API keys work; a garbage file or a crafted
  pickle (os.system and friends) is 422 invalid_snapshot and nothing runs; automatic snapshots and their pruning.
- Integrity in process: a refused file raises StoreError naming it, is left untouched and is not kept locked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import pickle
import sqlite3
import types
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from carriersim.simulator import Simulation
from carriersim.simulator.batch_files import write_template
from carriersim.simulator.durable import codec
from carriersim.simulator.durable.store import KEEP_AUTO_SNAPSHOTS, Store, StoreError
from carriersim.simulator.http import clock_driver
from carriersim.simulator.durable import journal as durability_module
from carriersim.simulator.http.app import OPENED, STATE, create_app
from carriersim.simulator.identifiers import make_imei

ADMIN = {"Authorization": "Bearer admin"}
_imei = iter(range(80_000, 90_000))


def imei() -> str:
    return make_imei(next(_imei))




async def app_on(aiohttp_client, db: Path | None, seed: int = 1, **kw: Any):
    return await aiohttp_client(create_app(Simulation(seed=seed), admin_token="admin",
                                           db=None if db is None else str(db), **kw))


async def ok(resp, status: int = 200) -> Any:
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text else None


async def refused(resp, status: int, code: str) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "application/problem+json"
    body = json.loads(text)
    assert body["code"] == code, body
    return body


def state(client):
    return client.app[STATE]


def canonical(client) -> str:
    """The canonical dump as JSON text: equal texts, equal worlds."""
    return json.dumps(state(client).sim.dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(client) -> str:
    return state(client).sim.digest()


async def crash(client) -> int:
    """Stop as a killed process would: the store is closed without the final snapshot the app's cleanup takes.
    Returns the last journal position."""
    st = state(client)
    last = st.durability.last_seq
    st.durability.store.close()
    st.durability = None
    await client.close()
    return last


async def account(client, name: str = "Acme", **body: Any) -> dict[str, str]:
    data = await ok(await client.post("/_sim/accounts", json={"name": name, "verified": True, **body},
                                      headers=ADMIN), 201)
    return {"Authorization": f"Bearer {data['api_key']}"}


async def open_active(client, H, carrier: str = "cmcc", plan: str = "CMCC-M100", payment: str = "100",
                      device: str | None = None, **options: Any) -> str:
    card = await ok(await client.post("/v1/cards", json={"carrier": carrier, "plan": plan, "payment": payment,
                                                         **options}, headers=H), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={"imei": device or imei()},
                               headers=H))
    return card["iccid"]


async def usage(client, iccid: str, **body: Any) -> dict[str, Any]:
    return await ok(await client.post(f"/_sim/cards/{iccid}/usage", json=body, headers=ADMIN))


async def advance(client, **body: Any) -> dict[str, Any]:
    return await ok(await client.post("/_sim/clock/advance", json=body, headers=ADMIN))


async def top_up(client, H, iccid: str, amount: str, key: str | None = None) -> dict[str, Any]:
    headers = {**H, **({"Idempotency-Key": key} if key else {})}
    return await ok(await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": amount}, headers=headers), 201)


async def views(client, H, iccids: list[str]) -> dict[str, Any]:
    """Everything an account can read about its cards: each card, its history, ledger and usage, and the list."""
    out: dict[str, Any] = {"account": await ok(await client.get("/v1/account", headers=H)),
                           "cards": await ok(await client.get("/v1/cards?limit=1000", headers=H))}
    for iccid in iccids:
        for suffix in ("", "/history", "/ledger", "/usage"):
            out[iccid + suffix] = await ok(await client.get(f"/v1/cards/{iccid}{suffix}", headers=H))
    return out


def batch_form(operation: str, rows: list[list[str]]) -> FormData:
    data = write_template(operation, "csv") + "".join(",".join(r) + "\r\n" for r in rows).encode()
    form = FormData()
    form.add_field("operation", operation)
    form.add_field("file", data, filename=f"{operation}.csv", content_type="text/csv")
    return form


async def accelerate(client, seconds: float = 0.25) -> None:
    """Let the accelerated clock tick for a while (a day a second), then freeze it again."""
    await ok(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 86400}, headers=ADMIN))
    await asyncio.sleep(seconds)
    await ok(await client.post("/_sim/clock/mode", json={"mode": "frozen"}, headers=ADMIN))


def journal_ops(client) -> list[str]:
    return [e.op for e in state(client).durability.store.entries(0)]


async def build_world(client, older_snapshot: bool = False) -> dict[str, Any]:
    """Accounts, cards of three carriers, usage (one card stopped by region), top-ups (one idempotent), a plan
    change, a batch upload, accelerated ticks and a month's advance. With ``older_snapshot``, a named snapshot is
    taken half-way."""
    H = await account(client)
    P = await account(client, "Zhang", kind="personal", verified=False)
    a = await open_active(client, H, "cmcc", "CMCC-M100")
    b = await open_active(client, H, "cucc", "CUCC-M500")
    c = await open_active(client, H, "ctcc", "CTCC-M300")
    p = await open_active(client, P, "cmcc", "CMCC-M30", payment="20")
    await usage(client, a, mb=40)
    await usage(client, c, mb=3, region="CN-XJ")
    await top_up(client, H, a, "12.34")
    info: dict[str, Any] = {"H": H, "P": P, "iccids": [a, b, c], "personal": [p]}
    if older_snapshot:
        info["snapshot"] = await ok(await client.post("/_sim/snapshots", json={"name": "older"}, headers=ADMIN),
                                    201)
    info["idem"] = await top_up(client, H, b, "8.80", key="pay-b-1")
    await ok(await client.post(f"/v1/cards/{a}/plan-change", json={"plan": "CMCC-M1G"}, headers=H))
    job = await ok(await client.post("/v1/batch-jobs", data=batch_form("suspend", [[b]]), headers=H), 201)
    assert job["succeeded"] == 1
    info["job"] = job
    await accelerate(client)
    await usage(client, p, mb=10)
    await advance(client, by="1 month")
    await usage(client, a, mb=200)
    await top_up(client, P, p, "5")
    # the accelerated clock's moves were journaled: advances to an instant, by no account
    assert any(e.op == "advance" and e.account is None and isinstance(e.body.get("to"), int)
               for e in state(client).durability.store.entries(0))
    return info


async def check_idempotent_retry(client, info: dict[str, Any]) -> None:
    """The same key and body after the restart: the first answer, marked replayed, and nothing applied again; the
    same key with another body: 409."""
    b = info["iccids"][1]
    before = digest(client)
    r = await client.post(f"/v1/cards/{b}/top-ups", json={"amount": "8.80"},
                          headers={**info["H"], "Idempotency-Key": "pay-b-1"})
    assert r.status == 201 and r.headers.get("Idempotent-Replayed") == "true"
    assert await r.json() == info["idem"]
    assert digest(client) == before
    r = await client.post(f"/v1/cards/{b}/top-ups", json={"amount": "9.00"},
                          headers={**info["H"], "Idempotency-Key": "pay-b-1"})
    await refused(r, 409, "idempotency_key_reused")
    ledger = await ok(await client.get(f"/v1/cards/{b}/ledger", headers=info["H"]))
    assert [i["seq"] for i in ledger["items"]].count(info["idem"]["payment"]) == 1


# ---------------------------------------------------------------------------------------------- replay determinism


async def test_clean_restart_gives_the_same_world_byte_for_byte(aiohttp_client, tmp_path):
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    info = await build_world(client)
    text, seen = canonical(client), await views(client, info["H"], info["iccids"])
    await client.close()  # clean stop: the final snapshot
    store = Store(db)
    snapshots = store.snapshots()
    store.close()
    assert snapshots[-1].kind == "auto" and snapshots[-1].journal_seq == max(s.journal_seq for s in snapshots)

    client = await app_on(aiohttp_client, db, seed=42)  # the file's world wins over the one handed in
    assert client.app[OPENED]["snapshot"] == snapshots[-1].id and client.app[OPENED]["replayed"] == 0
    assert canonical(client) == text
    assert await views(client, info["H"], info["iccids"]) == seen
    job = await ok(await client.get(f"/v1/batch-jobs/{info['job']['id']}", headers=info["H"]))
    assert job == info["job"]
    await check_idempotent_retry(client, info)


async def test_crash_restart_replays_the_journal_after_an_older_snapshot(aiohttp_client, tmp_path):
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    info = await build_world(client, older_snapshot=True)
    text = canonical(client)
    seen = [await views(client, info["H"], info["iccids"]), await views(client, info["P"], info["personal"])]
    last = await crash(client)

    client = await app_on(aiohttp_client, db)
    opened = client.app[OPENED]
    assert opened["snapshot"] == info["snapshot"]["id"]
    assert opened["replayed"] == last - info["snapshot"]["journal_seq"] > 10
    assert canonical(client) == text
    assert [await views(client, info["H"], info["iccids"]), await views(client, info["P"], info["personal"])] == seen
    job = await ok(await client.get(f"/v1/batch-jobs/{info['job']['id']}", headers=info["H"]))
    assert job == info["job"]
    await check_idempotent_retry(client, info)
    # a new write after the recovery, another crash: still the same world plus that write
    await top_up(client, info["H"], info["iccids"][2], "1.11")
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text


async def test_clean_stop_after_a_crash_recovery_leaves_nothing_to_replay(aiohttp_client, tmp_path):
    """The entries replayed at a start count as replay work: a clean stop right after snapshots them, so the next
    start does not replay them again (and again)."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    await open_active(client, H)
    await advance(client, by="3 days")
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert client.app[OPENED]["replayed"] == 4
    text = canonical(client)
    await client.close()  # only reads since the start
    client = await app_on(aiohttp_client, db)
    assert client.app[OPENED]["replayed"] == 0
    assert canonical(client) == text


async def test_replay_never_reads_the_wall_clock(aiohttp_client, tmp_path, monkeypatch):
    """Accelerated mode on and off, an advance while accelerated: the clock's own moves are journaled as ticks,
    so a replay that runs with the wall clock racing ahead (here: 1000 s per reading) rebuilds the same world."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    iccid = await open_active(client, H)
    await ok(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 86400}, headers=ADMIN))
    await advance(client, by="1 day")
    await usage(client, iccid, mb=1)
    await ok(await client.post("/_sim/clock/mode", json={"mode": "frozen"}, headers=ADMIN))
    text = canonical(client)
    await crash(client)

    readings = iter(range(10**6, 10**9, 1000))
    fake = types.SimpleNamespace(monotonic=lambda: float(next(readings)), perf_counter=clock_driver.time.perf_counter)
    with monkeypatch.context() as m:
        m.setattr(clock_driver, "time", fake)
        app = create_app(Simulation(seed=1), admin_token="admin", db=str(db))
    assert app[OPENED]["replayed"] > 0
    assert json.dumps(app[STATE].sim.dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":")) == text
    app[STATE].durability.store.close()


async def test_accelerated_world_restarts_accelerated(aiohttp_client, tmp_path):
    """The clock mode belongs to the world: a server stopped while accelerated is accelerated again after the
    restart and runs on from where the world was."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    await ok(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 3600}, headers=ADMIN))
    await asyncio.sleep(0.15)
    before = state(client).sim.now
    await crash(client)
    client = await app_on(aiohttp_client, db)
    clock = await ok(await client.get("/_sim/clock", headers=ADMIN))
    assert clock["mode"] == "accelerated" and clock["rate"] == 3600
    assert state(client).sim.now >= before


# ---------------------------------------------------------------------------------------------- rewind


async def month(client, H, cards: dict[str, str], m: int) -> None:
    """Month ``m`` of 2027: on the 10th usage, a top-up or a plan change depending on the month; then on to the
    1st of the next month (cycle start: charges, plan changes, expiry)."""
    await advance(client, to=f"2027-{m:02d}-10T00:00:00+08:00")
    await usage(client, cards["a"], mb=7 * m)
    await usage(client, cards["b"], mb=30 if m % 2 else 5)
    if m == 1:
        await ok(await client.post(f"/v1/cards/{cards['a']}/plan-change", json={"plan": "CMCC-M30"}, headers=H))
    if m == 2:
        await top_up(client, H, cards["b"], "3.21")
    if m == 3:
        await usage(client, cards["b"], mb=1, region="CN-FJ")  # ctcc: restricted
    if m == 4:
        await ok(await client.post(f"/v1/cards/{cards['b']}/region-appeal", headers=H))
        await ok(await client.post(f"/v1/cards/{cards['b']}/plan-change", json={"plan": "CTCC-M1G"}, headers=H))
    if m == 5:
        await ok(await client.post(f"/v1/cards/{cards['c']}/auto-renew", json={"enabled": False}, headers=H))
    await advance(client, to=f"2027-{m + 1:02d}-01T00:00:00+08:00")


async def six_month_world(client) -> tuple[dict[str, str], dict[str, str]]:
    H = await account(client)
    cards = {"a": await open_active(client, H, "cmcc", "CMCC-M100", payment="22", device=make_imei(1)),
             "b": await open_active(client, H, "ctcc", "CTCC-M300", payment="100", device=make_imei(2)),
             "c": await open_active(client, H, "cucc", "CUCC-M50", payment="30", device=make_imei(3))}
    return H, cards


async def test_rewind_to_month_2_reads_as_it_did_and_the_same_months_give_the_same_result(aiohttp_client, tmp_path):
    """Acceptance: six months, rewind to month 2 (2027-03-01T00:00): each card reads exactly as it did then and the
    whole world's digest is month 2's; running months 3-6 again gives each month's result of the first time."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H, cards = await six_month_world(client)
    first: dict[int, tuple[str, dict]] = {}
    for m in range(1, 7):
        await month(client, H, cards, m)
        first[m] = (digest(client), await views(client, H, list(cards.values())))
        if m == 1:  # the rewind replays from this snapshot, not from the beginning
            await ok(await client.post("/_sim/snapshots", json={"name": "m1"}, headers=ADMIN), 201)
    assert first[2][1] != first[6][1]
    def summary(seen: dict) -> dict:
        return {name: (seen[i]["state"], seen[i]["reasons"], seen[i]["plan"]) for name, i in cards.items()}
    # the months did things: by month 6 card a ran dry (retained in arrears), c expired and was cancelled
    assert summary(first[2][1]) == {"a": ("active", [], "CMCC-M30"), "b": ("active", [], "CTCC-M300"),
                                    "c": ("active", [], "CUCC-M50")}
    assert summary(first[6][1]) == {"a": ("retained", ["arrears", "expired"], "CMCC-M30"),
                                    "b": ("active", [], "CTCC-M1G"), "c": ("cancelled", ["expired"], "CUCC-M50")}

    rewound = await ok(await client.post("/_sim/rewind", json={"to": "2027-03-01T00:00:00+08:00"}, headers=ADMIN))
    assert rewound["to"] == rewound["now"] == "2027-03-01T00:00:00+08:00"
    assert (await ok(await client.get("/_sim/clock", headers=ADMIN)))["now"] == "2027-03-01T00:00:00+08:00"
    assert await views(client, H, list(cards.values())) == first[2][1]
    assert digest(client) == first[2][0]

    for m in range(3, 7):
        await month(client, H, cards, m)
        assert digest(client) == first[m][0], m
        assert await views(client, H, list(cards.values())) == first[m][1]

    # the rewound-and-replayed world survives a crash, and a clean restart
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text
    await client.close()
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text and client.app[OPENED]["replayed"] == 0


async def test_rewind_into_the_middle_of_one_long_advance(aiohttp_client, tmp_path):
    """Six months in one advance, rewound to a time inside it: the world an in-memory server reaches by advancing
    straight to that time after the same requests."""
    async def story(client) -> None:
        H, cards = await six_month_world(client)
        await advance(client, to="2027-01-10T00:00:00+08:00")
        await usage(client, cards["a"], mb=60)
        await ok(await client.post(f"/v1/cards/{cards['c']}/plan-change", json={"plan": "CUCC-M500"}, headers=H))

    client = await app_on(aiohttp_client, tmp_path / "w.db")
    await story(client)
    await advance(client, by="6 months")
    await ok(await client.post("/_sim/rewind", json={"to": "2027-03-15T12:30:00+08:00"}, headers=ADMIN))

    reference = await app_on(aiohttp_client, None)
    await story(reference)
    await advance(reference, to="2027-03-15T12:30:00+08:00")
    assert canonical(client) == canonical(reference)


async def test_rewind_across_an_earlier_restore(aiohttp_client, tmp_path):
    """A snapshot "feb" at 02-01; later the world goes back to it (restore) and takes another course. Rewinding on
    that course gives its own past; rewinding to before "feb" follows the timeline back through the restore to the
    first course's past."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H, cards = await six_month_world(client)
    await advance(client, to="2027-01-10T00:00:00+08:00")
    await usage(client, cards["a"], mb=50)
    await advance(client, to="2027-01-20T00:00:00+08:00")
    jan20 = (digest(client), await views(client, H, list(cards.values())))
    await advance(client, to="2027-02-01T00:00:00+08:00")
    feb = await ok(await client.post("/_sim/snapshots", json={"name": "feb"}, headers=ADMIN), 201)
    feb_digest = digest(client)
    await top_up(client, H, cards["b"], "10")
    await advance(client, to="2027-04-01T00:00:00+08:00")

    restored = await ok(await client.post("/_sim/snapshots/feb/restore", headers=ADMIN))
    assert restored == {"snapshot": feb["id"], "now": "2027-02-01T00:00:00+08:00"}
    assert digest(client) == feb_digest
    await advance(client, to="2027-02-05T00:00:00+08:00")
    await top_up(client, H, cards["c"], "77")  # the other course
    await advance(client, to="2027-02-10T00:00:00+08:00")
    alt_feb10 = digest(client)
    await advance(client, to="2027-02-20T00:00:00+08:00")

    await ok(await client.post("/_sim/rewind", json={"to": "2027-02-10T00:00:00+08:00"}, headers=ADMIN))
    assert digest(client) == alt_feb10  # this course's past: with the 77, without the 10
    ledger = await ok(await client.get(f"/v1/cards/{cards['c']}/ledger", headers=H))
    assert "77.00" in [i["amount"] for i in ledger["items"]]

    await ok(await client.post("/_sim/rewind", json={"to": "2027-01-20T00:00:00+08:00"}, headers=ADMIN))
    assert digest(client) == jan20[0]
    assert await views(client, H, list(cards.values())) == jan20[1]

    text = canonical(client)  # and that survives a restart
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text


async def test_rewind_refusals_change_nothing(aiohttp_client, tmp_path):
    client = await app_on(aiohttp_client, tmp_path / "w.db")
    await advance(client, by="10 days")
    before, last = digest(client), state(client).durability.store.last_seq()
    problem = await refused(await client.post("/_sim/rewind", json={"to": "2027-01-11T00:00:01+08:00"},
                                              headers=ADMIN), 409, "rewind_forward")
    assert "2027-01-11T00:00:01+08:00" in problem["detail"]
    # before the world began: nothing to replay from (a 500 before)
    problem = await refused(await client.post("/_sim/rewind", json={"to": "2026-12-31T23:59:59+08:00"},
                                              headers=ADMIN), 409, "rewind_out_of_range")
    assert "before the world began" in problem["detail"]
    await refused(await client.post("/_sim/rewind", json={"to": "yesterday"}, headers=ADMIN), 422, "invalid_input")
    await refused(await client.post("/_sim/rewind", json={"to": "2027-01-05", "x": 1}, headers=ADMIN), 422,
                  "invalid_body")
    r = await client.post("/_sim/rewind", json={"to": "2027-01-05"})
    assert r.status == 401
    assert digest(client) == before and state(client).durability.store.last_seq() == last
    # rewinding to now changes nothing either, but is a new timeline
    now = await ok(await client.post("/_sim/rewind", json={"to": "2027-01-11T00:00:00+08:00"}, headers=ADMIN))
    assert now["now"] == "2027-01-11T00:00:00+08:00" and digest(client) == before


async def test_without_db_snapshots_and_rewind_are_409_durability_disabled(aiohttp_client):
    client = await app_on(aiohttp_client, None)
    before = digest(client)
    form = FormData()
    form.add_field("name", "x")
    form.add_field("file", b"data", filename="x.snap")
    for method, path, kw in (("POST", "/_sim/snapshots", {"json": {"name": "a"}}), ("GET", "/_sim/snapshots", {}),
                             ("POST", "/_sim/snapshots/a/restore", {}), ("GET", "/_sim/snapshots/a/export", {}),
                             ("POST", "/_sim/snapshots/import", {"data": form}),
                             ("POST", "/_sim/rewind", {"json": {"to": "2027-01-01"}})):
        r = await client.request(method, path, headers=ADMIN, **kw)
        problem = await refused(r, 409, "durability_disabled")
        assert "--db" in problem["detail"]
    assert digest(client) == before


async def test_rewind_entry_is_journaled_with_its_snapshot(aiohttp_client, tmp_path):
    """The rewind's journal entry names the snapshot of the rewound world, taken at that very journal position —
    written together, so no crash can leave one without the other."""
    client = await app_on(aiohttp_client, tmp_path / "w.db")
    await advance(client, by="20 days")
    rewound = await ok(await client.post("/_sim/rewind", json={"to": "2027-01-05"}, headers=ADMIN))
    store = state(client).durability.store
    entry = list(store.entries(0))[-1]
    assert entry.op == "rewind" and entry.body["snapshot"] == rewound["snapshot"]
    info = store.snapshot_by_id(rewound["snapshot"])
    assert info.journal_seq == entry.seq and info.sim_time == state(client).sim.now


async def test_rewind_entry_without_its_snapshot_still_opens(aiohttp_client, tmp_path):
    """A file whose last rewind entry names no snapshot (journaled before its snapshot, then the process died —
    as an earlier version could leave it) opens, and the rewind is redone from the journal."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    iccid = await open_active(client, H)
    await advance(client, to="2027-01-10")
    await usage(client, iccid, mb=20)
    await advance(client, to="2027-02-10")
    rewound = await ok(await client.post("/_sim/rewind", json={"to": "2027-01-20"}, headers=ADMIN))
    await top_up(client, H, iccid, "4.44")
    text = canonical(client)
    await crash(client)
    con = sqlite3.connect(db)
    con.execute("UPDATE journal SET body = json_remove(body, '$.snapshot') WHERE op = 'rewind'")
    con.execute("DELETE FROM snapshots WHERE id = ?", (rewound["snapshot"],))
    con.commit()
    con.close()
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text


async def test_rewind_across_a_reset(aiohttp_client, tmp_path):
    """A reset starts a new world (here years earlier, then years later). Rewinding inside the new world replays it
    (a 500 before, when it started in the past); a time between the old world's end and the later world's start is
    on no timeline (409); before the reset, the old world."""
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    iccid = await open_active(client, H)
    await advance(client, to="2027-01-20")
    old_jan20 = digest(client)
    await advance(client, to="2027-01-25")
    await usage(client, iccid, mb=30)
    await advance(client, to="2027-02-10")

    await ok(await client.post("/_sim/reset", json={"start": "2020-01-01T00:00:00+08:00"}, headers=ADMIN))
    H = await account(client, "New")
    iccid = await open_active(client, H, "ctcc", "CTCC-M20")
    await advance(client, to="2020-01-20")
    new_jan20 = digest(client)  # "as of" a time includes what happened at that instant: act a little later
    await advance(client, to="2020-01-25")
    await usage(client, iccid, mb=5)
    await advance(client, to="2020-03-10")
    await ok(await client.post("/_sim/rewind", json={"to": "2020-01-20"}, headers=ADMIN))
    assert digest(client) == new_jan20

    await advance(client, to="2020-02-01")
    await ok(await client.post("/_sim/reset", json={"start": "2030-01-01T00:00:00+08:00"}, headers=ADMIN))
    await advance(client, to="2030-02-01")
    before = digest(client)
    problem = await refused(await client.post("/_sim/rewind", json={"to": "2025-06-01"}, headers=ADMIN), 409,
                            "rewind_out_of_range")
    assert "reset" in problem["detail"]
    assert digest(client) == before
    await ok(await client.post("/_sim/rewind", json={"to": "2020-01-20"}, headers=ADMIN))
    assert digest(client) == new_jan20
    await ok(await client.post("/_sim/reset", json={"start": "2030-01-01T00:00:00+08:00"}, headers=ADMIN))
    # the 2020 world began after a reset at 2027-02-10; 2027-01-20 is in the first world
    await advance(client, to="2030-01-02")
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text


async def test_rewind_into_the_first_world_before_a_reset(aiohttp_client, tmp_path):
    client = await app_on(aiohttp_client, tmp_path / "w.db")
    H = await account(client)
    iccid = await open_active(client, H)
    await advance(client, to="2027-01-20")
    jan20 = canonical(client)
    await advance(client, to="2027-01-25")
    await usage(client, iccid, mb=30)
    await advance(client, to="2027-02-10")
    await ok(await client.post("/_sim/reset", json={}, headers=ADMIN))  # a new world, the clock where it was
    await advance(client, to="2027-03-01")
    await ok(await client.post("/_sim/rewind", json={"to": "2027-01-20"}, headers=ADMIN))
    assert canonical(client) == jan20
    r = await client.get(f"/v1/cards/{iccid}", headers=H)  # the old world's keys work in the old world
    assert r.status == 200


# ---------------------------------------------------------------------------------------------- snapshots


async def test_snapshots_create_list_restore_and_refusals(aiohttp_client, tmp_path):
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    iccid = await open_active(client, H)
    await advance(client, by="5 days")
    at_a = canonical(client)
    a = await ok(await client.post("/_sim/snapshots", json={"name": "a"}, headers=ADMIN), 201)
    assert a["name"] == "a" and a["kind"] == "named" and a["sim_time"] == "2027-01-06T00:00:00+08:00"
    assert a["journal_seq"] == state(client).durability.last_seq and a["size"] > 0
    listed = (await ok(await client.get("/_sim/snapshots", headers=ADMIN)))["items"]
    assert [(s["name"], s["kind"]) for s in listed] == [(None, "auto"), ("a", "named")]
    assert listed[1] == a

    await refused(await client.post("/_sim/snapshots", json={"name": "a"}, headers=ADMIN), 409, "snapshot_exists")
    for bad in ("../etc", "", "-x", "a" * 65, "a b"):
        await refused(await client.post("/_sim/snapshots", json={"name": bad}, headers=ADMIN), 422, "invalid_body")
    await refused(await client.post("/_sim/snapshots/nope/restore", headers=ADMIN), 404, "snapshot_not_found")
    await refused(await client.get("/_sim/snapshots/nope/export", headers=ADMIN), 404, "snapshot_not_found")
    assert len((await ok(await client.get("/_sim/snapshots", headers=ADMIN)))["items"]) == 2

    await usage(client, iccid, mb=99)
    await top_up(client, H, iccid, "50")
    await advance(client, by="2 months")
    assert canonical(client) != at_a
    restored = await ok(await client.post("/_sim/snapshots/a/restore", headers=ADMIN))
    assert restored == {"snapshot": a["id"], "now": "2027-01-06T00:00:00+08:00"}
    assert canonical(client) == at_a
    await top_up(client, H, iccid, "1")  # and the world runs on from there
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert canonical(client) == text


async def test_export_from_one_database_import_into_another_and_restore(aiohttp_client, tmp_path):
    """A QA hands a colleague the exact state of a bug: export on one server, import on another (another file,
    another world), restore there — the same digest, and the first world's API keys work there."""
    one = await app_on(aiohttp_client, tmp_path / "one.db")
    H = await account(one)
    iccid = await open_active(one, H, "cucc", "CUCC-M500")
    await usage(one, iccid, mb=480)
    await advance(one, by="40 days")
    await ok(await one.post("/_sim/snapshots", json={"name": "bug"}, headers=ADMIN), 201)
    bug = canonical(one)
    r = await one.get("/_sim/snapshots/bug/export", headers=ADMIN)
    assert r.status == 200 and r.content_type == "application/octet-stream"
    assert r.headers["Content-Disposition"] == 'attachment; filename="bug.carriersim-snapshot"'
    data = await r.read()
    assert data.startswith(codec.MAGIC)

    two = await app_on(aiohttp_client, tmp_path / "two.db", seed=7)
    H2 = await account(two, "Other")
    await open_active(two, H2)
    mine = canonical(two)
    form = FormData()
    form.add_field("name", "from-one")
    form.add_field("file", data, filename="bug.carriersim-snapshot", content_type="application/octet-stream")
    imported = await ok(await two.post("/_sim/snapshots/import", data=form, headers=ADMIN), 201)
    assert imported["name"] == "from-one" and imported["kind"] == "imported"
    assert imported["sim_time"] == "2027-02-10T00:00:00+08:00"
    assert canonical(two) == mine  # importing adds a snapshot, it does not switch worlds
    await ok(await two.post("/_sim/snapshots/from-one/restore", headers=ADMIN))
    assert canonical(two) == bug
    card = await ok(await two.get(f"/v1/cards/{iccid}", headers=H))
    assert card["usage"]["cycle_mb"] == 0.0 and card["plan"] == "CUCC-M500"
    # the imported snapshot is where this timeline begins: nothing earlier to rewind to
    problem = await refused(await two.post("/_sim/rewind", json={"to": "2027-01-05"}, headers=ADMIN), 409,
                            "rewind_out_of_range")
    assert "from-one" in problem["detail"]
    await ok(await two.post("/_sim/rewind", json={"to": "2027-02-10"}, headers=ADMIN))
    assert canonical(two) == bug
    await crash(two)
    two = await app_on(aiohttp_client, tmp_path / "two.db")
    assert canonical(two) == bug


def _evil(target: Any, *args: Any) -> bytes:
    class Evil:
        def __reduce__(self) -> tuple:
            return target, args
    return codec.MAGIC + zlib.compress(pickle.dumps(Evil(), protocol=2))


def _raw(pickled: bytes) -> bytes:
    return codec.MAGIC + zlib.compress(pickled)


def _u(text: str) -> bytes:  # SHORT_BINUNICODE
    return b"\x8c" + bytes([len(text.encode())]) + text.encode()


def crafted(marker: Path) -> dict[str, bytes]:
    """Snapshot files that would run something (each would create ``marker``) if unpickled naively."""
    import os

    from carriersim.simulator.cli import main as cli_main

    touch = f"touch {marker}"
    return {
        "os.system": _evil(os.system, touch),
        "builtins.eval": _evil(eval, f"open({str(marker)!r}, 'w')"),
        "builtins.open": _evil(open, str(marker), "w"),
        # os reached through a carriersim module that imports it, then getattr(os, "system")
        "module_attribute": _raw(b"cbuiltins\ngetattr\n(ccarriersim.simulator.http.server\nos\nVsystem\ntR(V" + touch.encode()
                                 + b"\ntR."),
        # protocol 4: a dotted name inside a carriersim module
        "dotted_name": _raw(b"\x80\x04" + _u("carriersim.simulator.http.server") + _u("os.system") + b"\x93" + _u(touch)
                            + b"\x85R."),
        # carriersim's own functions and classes that touch files
        "cli_main": _evil(cli_main, ["template", "cancel", "-o", str(marker)]),
        "store": _evil(Store, str(marker)),
        # getattr to reach a function's globals
        "globals": _raw(b"cbuiltins\ngetattr\n(ccarriersim.simulator.rules.cycle\non_cycle_start\nV__globals__\ntR."),
    }


async def test_import_refuses_garbage_and_crafted_pickles_and_runs_nothing(aiohttp_client, tmp_path):
    client = await app_on(aiohttp_client, tmp_path / "w.db")
    await advance(client, by="1 day")
    before = canonical(client)
    listed = await ok(await client.get("/_sim/snapshots", headers=ADMIN))
    marker = tmp_path / "pwned"
    payloads = {"garbage": b"hello, not a snapshot", "header_only": codec.MAGIC,
                "not_zlib": codec.MAGIC + b"\x00" * 100, "truncated": _raw(pickle.dumps(list(range(100))))[:-7],
                "not_a_world": _raw(pickle.dumps({"sim": 1})),
                "world_of_wrong_parts": _raw(pickle.dumps(durability_module.World(None, None, {}, [], None, [], 0,
                                                                                  "frozen", 1.0))),
                **crafted(marker)}
    for name, data in payloads.items():
        form = FormData()
        form.add_field("name", "x-" + name.replace("_", "-").replace(".", "-"))
        form.add_field("file", data, filename="evil.snap")
        problem = await refused(await client.post("/_sim/snapshots/import", data=form, headers=ADMIN), 422,
                                "invalid_snapshot")
        assert "snapshot" in problem["detail"], name
        assert not marker.exists(), f"{name}: the file ran something"
    assert canonical(client) == before
    assert await ok(await client.get("/_sim/snapshots", headers=ADMIN)) == listed

    for fields, status, code in (({"name": "ok"}, 422, "invalid_input"), ({"file": b"x"}, 422, "invalid_input"),
                                 ({"name": "../x", "file": b"x"}, 422, "invalid_input")):
        form = FormData(default_to_multipart=True)
        for k, v in fields.items():
            form.add_field(k, v) if k == "name" else form.add_field(k, v, filename="f.snap")
        await refused(await client.post("/_sim/snapshots/import", data=form, headers=ADMIN), status, code)
    r = await client.get("/_sim/snapshots/nope/export", headers=ADMIN)
    await refused(r, 404, "snapshot_not_found")


async def test_import_under_a_taken_name_is_409(aiohttp_client, tmp_path):
    client = await app_on(aiohttp_client, tmp_path / "w.db")
    await ok(await client.post("/_sim/snapshots", json={"name": "a"}, headers=ADMIN), 201)
    data = await (await client.get("/_sim/snapshots/a/export", headers=ADMIN)).read()
    form = FormData()
    form.add_field("name", "a")
    form.add_field("file", data, filename="a.snap")
    await refused(await client.post("/_sim/snapshots/import", data=form, headers=ADMIN), 409, "snapshot_exists")


def test_codec_round_trip_of_a_world_with_everything(tmp_path):
    """What the allow-list lets through is what real worlds hold: a world with cards of every carrier, pools,
    events, scheduled jobs, faults and keys loads back equal."""
    async def build() -> bytes:
        from aiohttp.test_utils import TestClient, TestServer
        app = create_app(Simulation(seed=3), admin_token="admin", db=str(tmp_path / "w.db"))
        async with TestClient(TestServer(app)) as client:
            await ok(await client.post("/_sim/fleet", json={"cards": 120}, headers=ADMIN), 201)
            await ok(await client.post("/_sim/faults", json={"route": "/v1/cards", "latency_ms": 1, "seed": 3},
                                       headers=ADMIN), 201)
            await advance(client, by="2 months")
            d = app[STATE].durability
            return codec.dumps(d.capture())

    data = asyncio.run(build())
    world = codec.loads(data)
    assert isinstance(world, durability_module.World)
    assert len(world.sim.engine.cards) == 120 and world.faults.faults


# ---------------------------------------------------------------------------------------------- automatic snapshots


async def test_automatic_snapshots_are_pruned_and_replay_stays_short(aiohttp_client, tmp_path, monkeypatch):
    """With every write counting as more than a second of replay work, each write is followed by a snapshot; only
    the last few automatic ones are kept (plus the first and any a timeline starts from), a crash replays nothing,
    and rewinding to a time whose snapshots were pruned still works from the first one."""
    monkeypatch.setattr(durability_module, "SNAPSHOT_AFTER_SECONDS", -1.0)
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db)
    H = await account(client)
    iccid = await open_active(client, H)
    await advance(client, to="2027-01-03")
    jan3 = canonical(client)
    for n in range(8):
        await advance(client, by="1 day")
        await usage(client, iccid, mb=1)
    store = state(client).durability.store
    autos = [s for s in store.snapshots() if s.kind == "auto"]
    assert autos[0].journal_seq == 0 and len(autos) == KEEP_AUTO_SNAPSHOTS + 1
    assert autos[-1].journal_seq == store.last_seq()
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db)
    assert client.app[OPENED]["replayed"] == 0 and canonical(client) == text
    await ok(await client.post("/_sim/rewind", json={"to": "2027-01-03"}, headers=ADMIN))
    assert canonical(client) == jan3


# ---------------------------------------------------------------------------------------------- integrity


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refused_file_raises_store_error_and_is_not_kept_locked(tmp_path):
    """A carriersim file of a newer schema: StoreError naming it, the bytes unchanged, and the file let go (a
    process can lock it right after; before, the refused connection kept the lock)."""
    db = tmp_path / "new.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 7")
    con.close()
    before = _sha(db)
    with pytest.raises(StoreError) as caught:
        create_app(db=str(db))
    assert str(db) in str(caught.value) and "schema 7" in str(caught.value)
    assert _sha(db) == before
    con = sqlite3.connect(db, timeout=0)
    con.execute("BEGIN EXCLUSIVE")  # would be "database is locked" while the refused connection lived
    con.rollback()
    con.close()


@pytest.mark.parametrize("what", ["directory", "missing_dir", "empty_other_app"])
def test_unusable_paths_are_store_errors(tmp_path, what):
    if what == "directory":
        path = tmp_path / "d"
        path.mkdir()
    elif what == "missing_dir":
        path = tmp_path / "no" / "such" / "dir" / "x.db"
    else:
        path = tmp_path / "other.db"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.close()
    with pytest.raises(StoreError) as caught:
        create_app(db=str(path))
    assert str(path) in str(caught.value)


def test_second_store_in_this_process_is_refused_as_in_use(tmp_path):
    db = tmp_path / "w.db"
    app = create_app(db=str(db))
    try:
        with pytest.raises(StoreError, match="in use"):
            create_app(db=str(db))
    finally:
        app[STATE].durability.store.close()
    create_app(db=str(db))[STATE].durability.store.close()  # free again


def test_damaged_snapshot_is_refused_naming_the_file(tmp_path):
    """A snapshot blob damaged inside (SQLite's page checks cannot see into it): refused as damaged with the file
    named, not a traceback from the unpickler; the file unchanged."""
    db = tmp_path / "w.db"
    store = Store(db)
    store.save_snapshot(codec.MAGIC + b"x" * 5000, 0, 0)
    store.close()
    before = _sha(db)
    with pytest.raises(StoreError, match="is damaged") as caught:
        create_app(db=str(db))
    assert str(caught.value).startswith(str(db))
    assert _sha(db) == before


@pytest.mark.parametrize("sync", ["normal", "full"])
async def test_db_sync_modes_both_keep_the_world(aiohttp_client, tmp_path, sync):
    db = tmp_path / "w.db"
    client = await app_on(aiohttp_client, db, db_sync=sync)
    H = await account(client)
    iccid = await open_active(client, H)
    await top_up(client, H, iccid, "3.50")
    text = canonical(client)
    await crash(client)
    client = await app_on(aiohttp_client, db, db_sync=sync)
    assert canonical(client) == text
    ledger = await ok(await client.get(f"/v1/cards/{iccid}/ledger", headers=H))
    assert sum(Decimal(i["amount"]) for i in ledger["items"]) == Decimal(ledger["balance"])


async def test_clock_backwards_advice_fits_the_servers_mode(aiohttp_client, tmp_path):
    """Without --db snapshots are refused, so the advice is a new world (POST /_sim/reset), and following it works;
    with --db it is a snapshot restore or a rewind, and following that works too."""
    memory = await app_on(aiohttp_client, None)
    await advance(memory, by="2 days")
    problem = await refused(await memory.post("/_sim/clock/advance", json={"to": "2027-01-02"}, headers=ADMIN),
                            409, "clock_backwards")
    assert problem["detail"] == (
        "The clock never moves backwards: it is 2027-01-03T00:00:00+08:00 and 2027-01-02T00:00:00+08:00 is earlier. "
        'To work at an earlier time, POST /_sim/reset {"start": "..."} for a new world; this server keeps no '
        "snapshots (start it with --db FILE to restore snapshots or rewind).")
    await ok(await memory.post("/_sim/reset", json={"seed": 1, "start": "2027-01-02T00:00:00+08:00"}, headers=ADMIN))

    durable = await app_on(aiohttp_client, tmp_path / "w.db")
    await advance(durable, by="2 days")
    problem = await refused(await durable.post("/_sim/clock/advance", json={"to": "2027-01-02"}, headers=ADMIN),
                            409, "clock_backwards")
    assert problem["detail"].endswith(" is earlier. To go back, restore a snapshot (POST "
                                      '/_sim/snapshots/{name}/restore) or rewind the timeline (POST /_sim/rewind '
                                      '{"to": "..."}).')
    rewound = await ok(await durable.post("/_sim/rewind", json={"to": "2027-01-02"}, headers=ADMIN))
    assert rewound["now"] == "2027-01-02T00:00:00+08:00"
