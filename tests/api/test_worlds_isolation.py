"""Acceptance (issue 11): 200 worlds on one server, 0 leaks.

One ``carriersim serve`` process; 200 worlds, each with its own seed, its clock moved by a different amount (world
*i* by *i*+1 hours), accounts, cards with ICCIDs no other world has, and — in every other world — a second
account, a pool, a webhook and a batch job (so that their ids, which are per-world sequences, exist in some worlds
and not in others), and in every tenth world a carrier of its own (an inline profile). Then:

- every ordered pair of worlds (A, B): B's key asks for A's card, and B's token opens A's test control: each answer
  is exactly the answer for a card / a world that never existed (the id aside);
- every route of every world (each native and each test-control route) is called with another world's key, token
  and ids, and each answer compared with its twin naming an id that exists nowhere: identical but for the id;
- afterwards every world is as it was built: its clock, accounts, cards.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

import aiohttp

from carriersim.scenarios.live_server import ServeProcess
from carriersim.simulator.batch_files import write_template
from carriersim.simulator.http.spec import OPERATIONS
from carriersim.simulator.identifiers import make_iccid, make_imei
from carriersim.simulator.profile import builtin_profile

WORLDS = 200
CONCURRENCY = 48
NOWHERE = {"iccid": make_iccid("89869999", 1), "pool_id": "pool-9999", "job_id": "job-99999",
           "webhook_id": "wh-9999", "account_id": "acc-9999", "carrier": "nowhere", "name": "nowhere",
           "world_id": "w0000000000", "recording_id": "rec-9999"}


def china_mobile_of(world: int) -> dict[str, Any]:
    """China Mobile with ICCIDs of this world's own range (cards are numbered per world, so without it every
    world's first card would have the same ICCID, and asking for another world's card would find one's own)."""
    doc = copy.deepcopy(builtin_profile("cmcc").raw)
    doc["identifiers"]["iccid_prefixes"] = [f"8986{world:04d}"]
    return doc


class Client:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session, self.gate = url, session, asyncio.Semaphore(CONCURRENCY)
        self.sent = 0

    async def call(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.gate:
            async with self.session.request(method, self.url + path, json=body, headers=headers) as r:
                self.sent += 1
                text = await r.text()
                return r.status, (json.loads(text) if text else None)

    async def ok(self, method: str, path: str, token: str | None, body: Any = None, status: int = 200) -> Any:
        got, answer = await self.call(method, path, token, body)
        assert got == status, (method, path, got, answer)
        return answer


async def build(c: Client, admin: str, i: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"seed": 1000 + i, "start": "2027-01-01T00:00:00+08:00",
                            "profiles": [china_mobile_of(i)]}
    if i % 10 == 0:
        doc = copy.deepcopy(builtin_profile("cucc").raw)
        doc.update(id=f"own{i}", name=f"Carrier of world {i}")
        spec["profiles"].append(doc)
    made = await c.ok("POST", "/_sim/worlds", admin, spec, 201)
    w = {"i": i, "id": made["id"], "token": made["admin_token"], "control": made["control"], "carriers":
         made["carriers"]}
    acct = await c.ok("POST", f"{w['control']}/accounts", w["token"], {"name": f"world {i}", "verified": True}, 201)
    w["key"], w["account"] = acct["api_key"], acct["account"]["id"]
    w["iccids"] = []
    for n in range(2):
        card = await c.ok("POST", "/v1/cards", w["key"], {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "50"},
                          201)
        assert card["iccid"].startswith(f"8986{i:04d}")
        await c.ok("POST", f"/v1/cards/{card['iccid']}/activation", w["key"], {"imei": make_imei(7000 + i * 10 + n)})
        w["iccids"].append(card["iccid"])
    w["ids"] = {"iccid": w["iccids"][0], "carrier": "cmcc", "account_id": w["account"], "world_id": w["id"]}
    if i % 2 == 0:  # ids that exist here and in no odd world
        second = await c.ok("POST", f"{w['control']}/accounts", w["token"], {"name": "second"}, 201)
        pool = await c.ok("POST", "/v1/pools", w["key"], {"carrier": "cmcc", "name": "p"}, 201)
        hook = await c.ok("POST", "/v1/webhooks", w["key"], {"url": "http://127.0.0.1:9/hook"}, 201)
        form = aiohttp.FormData()
        form.add_field("operation", "set_auto_renew")
        form.add_field("file", write_template("set_auto_renew", "csv") + f"{w['iccids'][1]},true\r\n".encode(),
                       filename="t.csv")
        async with c.session.post(c.url + "/v1/batch-jobs", data=form,
                                  headers={"Authorization": f"Bearer {w['key']}"}) as r:
            assert r.status == 201, await r.text()
            job = await r.json()
        w["ids"].update(account_id=second["account"]["id"], pool_id=pool["id"], webhook_id=hook["id"],
                        job_id=job["id"])
    if i % 10 == 0:
        w["ids"]["carrier"] = f"own{i}"
    await c.ok("POST", f"{w['control']}/clock/advance", w["token"], {"by": f"{i + 1} hours"})
    w["view"] = await c.ok("GET", f"/_sim/worlds/{w['id']}", w["token"])
    return w


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def same_but_ids(a: tuple[int, Any], b: tuple[int, Any], swaps: dict[str, str]) -> bool:
    """Equal once the ids of ``swaps`` (foreign -> nowhere) are written the same in both answers."""
    text = json.dumps(a[1], sort_keys=True, ensure_ascii=False)
    for foreign, nowhere in swaps.items():
        text = text.replace(foreign, nowhere)
    return a[0] == b[0] and text == json.dumps(b[1], sort_keys=True, ensure_ascii=False)


BODIES = {"openCard": {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20"},
          "activateCard": {"imei": make_imei(1)}, "changePlan": {"plan": "CMCC-M1G"}, "topUp": {"amount": "1"},
          "buyAddOn": {"addon": "CMCC-ADD-1G"}, "verifyIdentity": {"name": "x", "id_number": "x"},
          "rebindDevice": {"imei": make_imei(2)}, "setAutoRenew": {"enabled": False}, "swapCard": {},
          "requestCancellation": {"document": "x"}, "requestRefund": {"kind": "balance"},
          "addPoolMember": {"iccid": NOWHERE["iccid"]}, "reportUsage": {"mb": 1}, "barCard": {},
          "startMaintenance": {"duration": "1 hour"}, "createSnapshot": {"name": "s"},
          "rewindTimeline": {"to": "2027-01-01"},
          "advanceClock": {"by": "1 hour"}, "setClockMode": {"mode": "frozen"}, "createAccount": {"name": "x"},
          "generateFleet": {"cards": 1}, "createFault": {"route": "/v1/*", "error_rate": 1}, "resetWorld": {},
          "createWebhook": {"url": "http://127.0.0.1:9/x"}, "createPool": {"carrier": "cmcc"}}


def test_two_hundred_worlds_leak_nothing_to_each_other() -> None:
    with ServeProcess("--max-worlds", str(WORLDS), "--world-ttl", "0") as server:
        asyncio.run(_scenario(server.url, server.admin_token))


async def _scenario(url: str, admin: str) -> None:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        c = Client(url, session)
        worlds = await asyncio.gather(*(build(c, admin, i) for i in range(WORLDS)))
        # every clock moved by its own amount
        assert sorted({w["view"]["clock"]["now"] for w in worlds}) == sorted(
            w["view"]["clock"]["now"] for w in worlds)
        assert (await c.ok("GET", "/_sim/clock", admin))["now"] == "2027-01-01T00:00:00+08:00"
        leaks: list[str] = []

        # ---- every ordered pair: B's key on A's card, B's token on A's control
        async def pair(a: dict[str, Any], b: dict[str, Any]) -> None:
            got = await c.call("GET", f"/v1/cards/{a['iccids'][1]}", b["key"])
            if got != (404, {**card_404, "detail": f"No card {a['iccids'][1]!r} was found."}):
                leaks.append(f"key of {b['id']} on card of {a['id']}: {got}")
            got = await c.call("GET", f"/_sim/worlds/{a['id']}/clock", b["token"])
            expected = json.loads(json.dumps(world_401).replace(NOWHERE["world_id"], a["id"]))
            if got != (401, expected):
                leaks.append(f"token of {b['id']} on control of {a['id']}: {got}")

        card_404 = (await c.call("GET", f"/v1/cards/{NOWHERE['iccid']}", worlds[0]["key"]))[1]
        card_404 = {k: v for k, v in card_404.items() if k != "detail"}
        world_401 = (await c.call("GET", f"/_sim/worlds/{NOWHERE['world_id']}/clock", worlds[0]["token"]))[1]
        await asyncio.gather(*(pair(a, b) for a in worlds for b in worlds if a is not b))

        # ---- every route of every world with another world's key, token and ids
        native = [op for op in OPERATIONS if not op.control]
        probes = {"ids": 0, "tokens": 0}
        control = [op for op in OPERATIONS if op.control and op.tag != "worlds"]

        async def sweep(a: dict[str, Any], b: dict[str, Any]) -> None:
            # b's ids that a does not have (the ICCIDs always; sequences like acc-0002 or pool-0001 exist in some
            # worlds only; an own carrier in one world only), each with its twin that exists nowhere
            swaps = {b["iccids"][0]: NOWHERE["iccid"]}
            for k, v in b["ids"].items():
                if k in ("iccid", "world_id") or v in a["ids"].values() or v == a["account"] or \
                        (k == "carrier" and v == "cmcc"):
                    continue
                swaps[v] = NOWHERE[k]
            foreign = {k: v for k, v in b["ids"].items() if v in swaps}
            for op in native:  # a's key with b's ids
                names = re.findall(r"\{(\w+)\}", op.path)
                if not any(n in foreign for n in names) and op.id != "addPoolMember":
                    continue  # nothing of b's to send on this route
                ids = {**NOWHERE, **a["ids"], **foreign}
                body = {"iccid": b["iccids"][0]} if op.id == "addPoolMember" else BODIES.get(op.id)
                twin_ids = {k: swaps.get(v, v) for k, v in ids.items()}
                twin_body = None if body is None else json.loads(json.dumps(body).replace(b["iccids"][0],
                                                                                            NOWHERE["iccid"]))
                got = await c.call(op.method, fill(op.path, ids), a["key"], body)
                twin = await c.call(op.method, fill(op.path, twin_ids), a["key"], twin_body)
                probes["ids"] += 1
                if got[0] < 400 or not same_but_ids(got, twin, swaps):
                    leaks.append(f"{op.id} in {a['id']} with ids of {b['id']}: {got} / {twin}")
            for op in control:
                body = BODIES.get(op.id)
                # b's token on a's control: refused as for a world that does not exist
                mine = {**NOWHERE, **a["ids"], "world_id": a["id"]}
                got = await c.call(op.method, fill(WORLD_PATH(op), mine), b["token"], body)
                twin = await c.call(op.method, fill(WORLD_PATH(op), {**mine, "world_id": NOWHERE["world_id"]}),
                                    b["token"], body)
                probes["tokens"] += 1
                if got[0] != 401 or not same_but_ids(got, twin, {a["id"]: NOWHERE["world_id"]}):
                    leaks.append(f"{op.id} of {a['id']} with token of {b['id']}: {got} / {twin}")
                # a's token with b's ids
                names = re.findall(r"\{(\w+)\}", op.path)
                if not any(n in foreign for n in names):
                    continue
                ids = {**NOWHERE, **a["ids"], **foreign, "world_id": a["id"]}
                twin_ids = {k: swaps.get(v, v) for k, v in ids.items()}
                got = await c.call(op.method, fill(WORLD_PATH(op), ids), a["token"], body)
                twin = await c.call(op.method, fill(WORLD_PATH(op), twin_ids), a["token"], body)
                probes["ids"] += 1
                if got[0] < 400 or not same_but_ids(got, twin, swaps):
                    leaks.append(f"{op.id} in {a['id']} with ids of {b['id']}: {got} / {twin}")

        # the next world: an odd world then sees an even one's second account, pool, webhook and job, and the
        # world before each tenth one sees its own carrier
        await asyncio.gather(*(sweep(a, worlds[(k + 1) % WORLDS]) for k, a in enumerate(worlds)))
        assert leaks == [], f"{len(leaks)} leaks, e.g.:\n" + "\n".join(leaks[:15])
        assert probes["ids"] >= WORLDS * 20 and probes["tokens"] == WORLDS * len(control) >= WORLDS * 20, probes
        assert c.sent > WORLDS * (WORLDS - 1) * 2

        # ---- each world as it was built: what its own credentials see
        for w in worlds:
            view = await c.ok("GET", f"/_sim/worlds/{w['id']}", w["token"])
            assert (view["clock"]["now"], view["cards"]) == (w["view"]["clock"]["now"], w["view"]["cards"]), w["id"]
            for iccid in w["iccids"]:
                assert (await c.ok("GET", f"/v1/cards/{iccid}", w["key"]))["iccid"] == iccid


def WORLD_PATH(op: Any) -> str:
    return "/_sim/worlds/{world_id}" + op.path[len("/_sim"):]
