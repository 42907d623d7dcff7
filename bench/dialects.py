"""Benchmark: GET of one SIM/device through each carrier dialect against the native GET card, in the same run; the
last line printed is one JSON object.

    python bench/dialects.py --requests 4000

Starts ``carriersim serve --port 0 --dialect twilio=cmcc,cucc,ctcc --dialect jasper=cmcc,cucc,ctcc`` (a
subprocess, as a user runs it), makes one account with ``--cards`` active cucc cards through the native API, then
measures, after a warm-up each and interleaved over ``--rounds`` (the best round of each kept):

- ``native``: ``GET /v1/cards/{iccid}`` (Bearer API key);
- ``twilio``: ``GET /twilio/v1/Sims/{sid}`` (Basic Account SID + auth token);
- ``jasper``: ``GET /rws/api/v1/devices/{iccid}`` (Basic username + API key);

for random cards of the account, ``--concurrency`` workers on one aiohttp session. Any non-200 answer counts in
``errors``. Bar (issue 12): each dialect ≥ 80 % of the native requests/s (``ratio_twilio``, ``ratio_jasper``,
``bar_met``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/http.py is named like the standard
# library's ``http`` package that aiohttp imports: take the folder off the path before importing anything else.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402

READY = re.compile(r"ready at (http://[\d.]+:\d+)")


def start_server(token: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "carriersim", "serve", "--port", "0", f"--admin-token={token}",
           "--dialect", "twilio=cmcc,cucc,ctcc", "--dialect", "jasper=cmcc,cucc,ctcc"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = READY.search(line or "")
        if found:
            return proc, found.group(1)
        if not line:
            break
    proc.kill()
    raise SystemExit("carriersim serve did not start")


async def setup(session: aiohttp.ClientSession, url: str, token: str, cards: int) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {token}"}
    async with session.post(url + "/_sim/accounts", json={"name": "Bench", "verified": True}, headers=admin) as r:
        made = await r.json()
    native = {"Authorization": f"Bearer {made['api_key']}"}
    tw, cc = made["dialects"]["twilio"], made["dialects"]["jasper"]

    def basic(user: str, secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}
    iccids = []
    for n in range(cards):
        async with session.post(url + "/v1/cards", json={"carrier": "cucc", "plan": "CUCC-M500"},
                                headers=native) as r:
            iccid = (await r.json())["iccid"]
        imei = f"86{n:012d}"
        imei += str(_luhn(imei))
        async with session.post(url + f"/v1/cards/{iccid}/activation", json={"imei": imei}, headers=native) as r:
            assert r.status == 200, await r.text()
        iccids.append(iccid)
    tw_h = basic(tw["account_sid"], tw["auth_token"])
    async with session.get(url + "/twilio/v1/Sims?PageSize=1000", headers=tw_h) as r:
        sids = {s["iccid"]: s["sid"] for s in (await r.json())["sims"]}
    return {"iccids": iccids, "targets": {
        "native": (native, [f"/v1/cards/{i}" for i in iccids]),
        "twilio": (tw_h, [f"/twilio/v1/Sims/{sids[i]}" for i in iccids]),
        "jasper": (basic(cc["username"], cc["api_key"]), [f"/rws/api/v1/devices/{i}" for i in iccids])}}


def _luhn(payload: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return (10 - total % 10) % 10


async def measure(session: aiohttp.ClientSession, url: str, headers: dict[str, str], paths: list[str],
                  requests: int, concurrency: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    todo = [rng.choice(paths) for _ in range(requests)]
    errors = 0

    async def worker(mine: list[str]) -> None:
        nonlocal errors
        for path in mine:
            async with session.get(url + path, headers=headers) as r:
                await r.read()
                errors += r.status != 200
    chunks = [todo[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in chunks))
    seconds = time.perf_counter() - started
    return {"requests": requests, "seconds": round(seconds, 3), "rps": round(requests / seconds, 1),
            "errors": errors}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    token = secrets.token_urlsafe(12)
    proc, url = start_server(token)
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            world = await setup(session, url, token, args.cards)
            best: dict[str, dict[str, Any]] = {}
            for rnd in range(args.rounds):
                for name, (headers, paths) in world["targets"].items():
                    await measure(session, url, headers, paths, max(50, args.requests // 10), args.concurrency,
                                  rnd)  # warm-up
                    got = await measure(session, url, headers, paths, args.requests, args.concurrency, rnd + 1)
                    if name not in best or got["rps"] > best[name]["rps"]:
                        best[name] = got
                    print(f"round {rnd + 1} {name}: {got['rps']} req/s ({got['errors']} errors)", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    ratios = {f"ratio_{d}": round(best[d]["rps"] / best["native"]["rps"], 3) for d in ("twilio", "jasper")}
    return {"bench": "dialects", "cards": args.cards, "concurrency": args.concurrency, "rounds": args.rounds,
            **{name: r for name, r in best.items()}, **ratios,
            "bar": 0.8, "bar_met": all(v >= 0.8 for v in ratios.values())
            and not any(r["errors"] for r in best.values())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=4000, help="measured requests per target and round")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--cards", type=int, default=100, help="active cucc cards of the account")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    result = asyncio.run(main_async(args))
    print(json.dumps(result))
    return 0 if result["bar_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
