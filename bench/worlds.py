"""Many worlds on one server (issue 11): how fast worlds are made, what an empty one costs, and whether a heavy
advance in one world stalls the others.

Starts ``carriersim serve`` in a child process, then:

1. creates ``--worlds`` empty worlds (``POST /_sim/worlds``, one client, sequentially): worlds per second;
2. reads the server's resident memory (``/proc/<pid>/status``) before and after: memory per empty world;
3. makes a world with a fleet of ``--cards`` cards and another with one card, then, while the first advances by
   ``--months`` months in one request, sends ``GET /v1/cards/{iccid}`` to the second one request after another
   and records each latency: p50, p99, max (the bar: p99 ≤ 100 ms).

The last line is JSON. ``--quick`` for a smoke run (20 worlds, 10,000 cards); ``--durable`` runs the server with
``--db`` (a file per world) in a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this folder holds bench/http.py, which would shadow the standard library's http
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from carriersim.scenarios.live_server import ServeProcess  # noqa: E402

BAR_P99_MS = 100.0


class Conn:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=200)
    ap.add_argument("--cards", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--durable", action="store_true", help="serve with --db in a temporary folder")
    args = ap.parse_args()
    if args.quick:
        args.worlds, args.cards = 20, 10_000
    with tempfile.TemporaryDirectory() as folder:
        extra = ("--db", str(Path(folder) / "bench.db")) if args.durable else ()
        result = measure(args, extra)
    print(json.dumps(result))


def measure(args: argparse.Namespace, extra: tuple[str, ...]) -> dict[str, Any]:
    with ServeProcess("--max-worlds", str(args.worlds + 10), "--world-ttl", "0", *extra, timeout=120) as server:
        token, url = server.admin_token, server.url
        c = Conn(url)
        c.call("GET", "/_sim/worlds", token)
        assert server.proc is not None
        time.sleep(0.5)
        before = rss_kb(server.proc.pid)
        started = time.perf_counter()
        for _ in range(args.worlds):
            c.call("POST", "/_sim/worlds", token, {})
        made = time.perf_counter() - started
        time.sleep(0.5)
        after = rss_kb(server.proc.pid)
        per_world_kb = (after - before) / args.worlds
        print(f"{args.worlds} worlds in {made:.2f} s ({args.worlds / made:.1f}/s); RSS {before / 1024:.1f} -> "
              f"{after / 1024:.1f} MB: {per_world_kb:.1f} KB a world", flush=True)

        started = time.perf_counter()
        heavy = c.call("POST", "/_sim/worlds", token, {"fleet": args.cards, "seed": 7})
        build = time.perf_counter() - started
        light = c.call("POST", "/_sim/worlds", token, {})
        acct = c.call("POST", f"{light['control']}/accounts", light["admin_token"], {"name": "probe",
                                                                                    "verified": True})
        key = acct["api_key"]
        card = c.call("POST", "/v1/cards", key, {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20"})
        path = f"/v1/cards/{card['iccid']}"
        print(f"world of {args.cards} cards built in {build:.2f} s", flush=True)
        reader = Conn(url)
        for _ in range(200):  # warm-up
            reader.call("GET", path, key)
        quiet: list[float] = []
        for _ in range(500):
            t = time.perf_counter()
            reader.call("GET", path, key)
            quiet.append((time.perf_counter() - t) * 1000)

        done = threading.Event()
        advance: dict[str, Any] = {}

        def run_advance() -> None:
            t = time.perf_counter()
            advance["answer"] = Conn(url).call("POST", f"{heavy['control']}/clock/advance", heavy["admin_token"],
                                               {"by": f"{args.months} months"})
            advance["seconds"] = time.perf_counter() - t
            done.set()

        worker = threading.Thread(target=run_advance)
        latencies: list[float] = []
        worker.start()
        time.sleep(0.05)  # the advance is under way
        while not done.is_set():
            t = time.perf_counter()
            reader.call("GET", path, key)
            latencies.append((time.perf_counter() - t) * 1000)
        worker.join()
        p50, p99, worst = percentile(latencies, 50), percentile(latencies, 99), max(latencies)
        print(f"advance of {args.cards} cards by {args.months} months: {advance['seconds']:.2f} s, "
              f"{advance['answer']['events']} events; meanwhile {len(latencies)} GETs in another world: "
              f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms (quiet server: p99 "
              f"{percentile(quiet, 99):.2f} ms)", flush=True)
    return {
        "durable": bool(extra), "worlds": args.worlds, "worlds_per_s": round(args.worlds / made, 1),
        "memory_per_empty_world_kb": round(per_world_kb, 1),
        "cards": args.cards, "months": args.months, "fleet_build_s": round(build, 2),
        "advance_s": round(advance["seconds"], 2), "advance_events": advance["answer"]["events"],
        "gets_during_advance": len(latencies), "get_p50_ms": round(p50, 2), "get_p99_ms": round(p99, 2),
        "get_max_ms": round(worst, 2), "quiet_get_p99_ms": round(percentile(quiet, 99), 2),
        "bar_p99_ms": BAR_P99_MS, "p99_within_bar": p99 <= BAR_P99_MS,
    }


if __name__ == "__main__":
    main()
