"""Benchmark: carriersim's HTTP throughput against a minimal aiohttp handler; the last line printed is one JSON object.

    python bench/http.py --requests 20000

Starts ``carriersim serve --port 0`` with a fleet (a subprocess, as a user would run it) and, in the same run, a
minimal aiohttp server (a subprocess too: a few lines that answer every GET with a fixed JSON body — the bytes of a
real card, so both send the same amount). A load generator in this process (one aiohttp ClientSession,
TCPConnector(limit=concurrency), ``concurrency`` workers sharing a fixed number of requests) then runs, after a
warm-up each:

- ``get_card``: ``GET /v1/cards/{iccid}`` for random cards of the fleet's first account (its API key);
- ``post_usage``: ``POST /_sim/cards/{iccid}/usage`` ``{"kb": 1}`` (admin token) on the same cards;
- ``minimal``: ``GET /`` on the minimal server.

Loopback only. Any non-2xx answer or transport error counts in ``errors``. Bar (issue #3): get_card ≥ 50 % of
the minimal handler's requests/s (``ratio_get_card_minimal``, ``bar_met``).

The client shares the machine's cores with the server under test, so requests/s are the whole loop's (client +
server), measured the same way for every target. The servers' own cost is reported beside it, independent of the
client: ``server_cpu_us_per_req`` (the server process's user+system CPU over the measured requests, from /proc) and
``server_capacity_rps`` (its inverse: what one core of that server would serve), with their ratio
``capacity_ratio_get_card_minimal``. ``--rounds N`` measures each target N times and keeps the best.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file is named like the standard library's
# ``http`` package that aiohttp imports: take the folder off the path before importing anything else.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

MINIMAL_SERVER = r"""
import os, sys
from aiohttp import web
BODY = os.environ["BENCH_BODY"].encode()
async def handle(request):
    return web.Response(body=BODY, content_type="application/json")
app = web.Application()
app.router.add_get("/", handle)
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("minimal ready at http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1], flush=True)
    import asyncio, signal
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
import asyncio
asyncio.run(main())
"""


def start(cmd: list[str], pattern: str, env: dict[str, str] | None = None, timeout: float = 120.0
          ) -> tuple[subprocess.Popen, re.Match]:
    """Start a server and wait for the line that says where it listens."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"server exited before it was ready: {' '.join(cmd[:5])} (rc {proc.wait()})")
        match = re.search(pattern, line)
        if match:
            return proc, match
    proc.kill()
    raise SystemExit(f"server not ready within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(session: aiohttp.ClientSession, n: int, concurrency: int, make: Any, pid: int | None = None
               ) -> dict[str, Any]:
    """``n`` requests from ``concurrency`` workers; ``make(i)`` gives (method, url, headers, json). With ``pid``,
    also the server process's CPU time per request — its capacity whatever the client manages to send."""
    counter = iter(range(n))
    errors = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            method, url, headers, body = make(i)
            t = time.perf_counter()
            try:
                async with session.request(method, url, headers=headers, json=body) as resp:
                    await resp.read()
                    if not 200 <= resp.status < 300:
                        errors += 1
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                errors += 1
            latencies.append(time.perf_counter() - t)

    cpu0 = cpu_seconds(pid) if pid else None
    own0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - t0
    own = time.process_time() - own0
    cpu1 = cpu_seconds(pid) if pid else None
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    latencies.sort()
    return {"rps": round(n / seconds, 1), "seconds": round(seconds, 3), "errors": errors,
            "server_cpu_us_per_req": None if server_cpu is None else round(server_cpu / n * 1e6, 1),
            "server_capacity_rps": None if not server_cpu else round(n / server_cpu, 1),
            "client_cpu_share": round(own / seconds, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    token = secrets.token_urlsafe(12)
    sim_proc, ready = start([sys.executable, "-m", "carriersim", "serve", "--port", "0", "--admin-token", token,
                             "--fleet", str(args.fleet), "--seed", str(args.seed)],
                            r"ready at (http://[\d.]+:\d+) .*key for (\S+): (csk_\w+)")
    minimal_proc = None
    try:
        base, account, key = ready.group(1), ready.group(2), ready.group(3)
        user = {"Authorization": f"Bearer {key}"}
        admin = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            cards: list[str] = []
            cursor: str | None = "0"
            while cursor is not None:
                async with session.get(f"{base}/v1/cards", params={"cursor": cursor, "limit": 1000},
                                       headers=user) as resp:
                    page = await resp.json()
                cards += [c["iccid"] for c in page["items"]]
                cursor = page["next_cursor"]
            if not cards:
                raise SystemExit(f"account {account} has no cards; use a larger --fleet")
            async with session.get(f"{base}/v1/cards/{cards[0]}", headers=user) as resp:
                card_body = await resp.text()
            minimal_proc, mready = start([sys.executable, "-c", MINIMAL_SERVER], r"ready at (http://[\d.]+:\d+)",
                                         env={"BENCH_BODY": card_body})
            minimal = mready.group(1)
            rng = random.Random(args.seed)
            picks = [rng.choice(cards) for _ in range(args.requests + args.warmup)]
            targets = {
                "get_card": (sim_proc.pid, lambda i: ("GET", f"{base}/v1/cards/{picks[i]}", user, None)),
                "post_usage": (sim_proc.pid, lambda i: ("POST", f"{base}/_sim/cards/{picks[i]}/usage", admin,
                                                        {"kb": 1})),
                "minimal": (minimal_proc.pid, lambda i: ("GET", f"{minimal}/", None, None)),
            }
            results: dict[str, dict[str, Any]] = {}
            for name, (pid, make) in targets.items():
                await load(session, args.warmup, args.concurrency, lambda i, m=make: m(args.requests + i))
                best = None
                for _ in range(args.rounds):
                    got = await load(session, args.requests, args.concurrency, make, pid)
                    if best is None or got["rps"] > best["rps"]:
                        best = {**got, "errors": got["errors"] + (best or {}).get("errors", 0)}
                    else:
                        best["errors"] += got["errors"]
                results[name] = best
                print(f"{name:>10}: {best['rps']:>9.1f} req/s  p50 {best['p50_ms']} ms  p99 {best['p99_ms']} ms  "
                      f"server {best['server_cpu_us_per_req']} µs CPU/req (capacity {best['server_capacity_rps']} "
                      f"req/s)  client busy {best['client_cpu_share']:.0%}  errors {best['errors']}",
                      file=sys.stderr)
        return {"cards": len(cards), "card_bytes": len(card_body.encode()), "details": results}
    finally:
        if minimal_proc is not None:
            stop(minimal_proc)
        stop(sim_proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20_000, help="measured requests per target (default 20000)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=2_000, help="unmeasured requests per target first")
    ap.add_argument("--rounds", type=int, default=1, help="measure each target this many times; keep the best")
    ap.add_argument("--fleet", type=int, default=5_000, help="cards generated at start (first account ≈ 100)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = asyncio.run(run(args))
    d = out["details"]
    errors = sum(r["errors"] for r in d.values())
    ratio = d["get_card"]["rps"] / d["minimal"]["rps"]
    cap = (d["get_card"]["server_capacity_rps"] / d["minimal"]["server_capacity_rps"]
           if d["get_card"]["server_capacity_rps"] and d["minimal"]["server_capacity_rps"] else None)
    print(json.dumps({
        "get_card_rps": d["get_card"]["rps"], "post_usage_rps": d["post_usage"]["rps"],
        "minimal_rps": d["minimal"]["rps"], "ratio_get_card_minimal": round(ratio, 3),
        "bar_met": ratio >= 0.5, "errors": errors,
        "server_cpu_us_per_req": {k: v["server_cpu_us_per_req"] for k, v in d.items()},
        "server_capacity_rps": {k: v["server_capacity_rps"] for k, v in d.items()},
        "capacity_ratio_get_card_minimal": None if cap is None else round(cap, 3),
        "client_cpu_share": {k: v["client_cpu_share"] for k, v in d.items()},
        "concurrency": args.concurrency, "requests": args.requests,
        "warmup": args.warmup, "rounds": args.rounds, "fleet": args.fleet, "account_cards": out["cards"],
        "body_bytes": out["card_bytes"], "latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]}
                                                        for k, v in d.items()},
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
