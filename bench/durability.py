"""Benchmark: the cost of ``--db`` (write throughput, restart time); the last line printed is one JSON object.

    python bench/durability.py                      # the full run (100,000 cards, 12 months; a few minutes)
    python bench/durability.py --quick              # a smoke run of ~20 s

1. **Write throughput.** ``carriersim serve --db <tmp file>`` and ``carriersim serve`` (in memory), both real
   subprocesses started the same way in the same run, each given a fleet (``POST /_sim/fleet``, ``--write-fleet``
   cards); then, after a warm-up, ``--requests`` ``POST /_sim/cards/{iccid}/usage`` ``{"kb": 1..64}`` on random cards
   of that fleet from ``--concurrency`` workers (the load generator of bench/http.py: one aiohttp session, loopback).
   ``--rounds N`` (default 3) measures each target N times, alternating, and keeps the best. Bar (issue #4):
   durable requests/s ≥ 50 % of in-memory (``ratio_durable_memory``). As in bench/http.py the client shares the
   cores with the server, so requests/s are the whole loop's; ``server_cpu_us_per_req`` is the server process's own
   CPU per request (/proc), and ``server_capacity_rps`` its inverse.
2. **Restart.** A ``--cards`` card state with ``--months`` months of history, built the way a user builds one:
   ``carriersim serve --db FILE``, ``POST /_sim/fleet``, then month by month usage reports on ``--traffic`` of the
   cards (random amounts, some past their quota) and ``POST /_sim/clock/advance {"by": "1 month"}``; SIGTERM (a
   clean stop: the server takes its shutdown snapshot). Then:
   (a) clean restart: ``carriersim serve --db FILE`` from process start until its "ready at" line
       (``restart_clean_seconds``, the best of ``--restarts``), and ``create_app(db=FILE)`` alone in a fresh process
       (``open_clean_seconds`` = ``app[OPENED]["seconds"]``: snapshot load + replay);
   (b) crash restart: the server is started again, takes ``--tail`` more writes (usage reports and a one-day
       clock advance), is SIGKILLed, and restarted (``restart_after_kill_seconds``; ``replayed_entries`` journal
       entries replayed after the latest snapshot; ``open_after_kill_seconds`` in-process).
   Bar (issue #4): restart ≤ 5 s.
3. **Write throughput on the big state** (``big_state``; skip with ``--no-big-throughput``): the comparison of 1.
   again, one round of ``--big-requests``, with the built file served by ``--db`` against an in-memory server holding
   a fleet of the same size advanced as many months (no traffic history). Long enough for several automatic
   snapshots, whose cost grows with the state (``auto_snapshots_during_load``).

Temporary databases and server logs live in a temporary folder (``--tmp``), removed at the end; ``--keep FILE``
keeps the built state, and ``--reuse FILE`` measures 2. and 3. on a copy of such a file instead of building one.
Progress goes to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/http.py there is named like the standard
# library's ``http`` package that aiohttp imports: take the folder off the path before importing anything else.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# the load generator and /proc CPU reading of bench/http.py (loaded by path: "http" is not importable by name)
_spec = importlib.util.spec_from_file_location("bench_http", Path(__file__).resolve().parent / "http.py")
assert _spec is not None and _spec.loader is not None
bench_http = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_http)
load, cpu_seconds = bench_http.load, bench_http.cpu_seconds

READY = r"ready at (http://[\d.]+:\d+)"
RESTORED = r"snapshot #(\d+) and (\d+) journal entries in ([\d.]+) s"

# create_app(db=...) alone, in a fresh process: what opening the file costs without the interpreter and imports
OPEN_ONLY = r"""
import json, sys, time
t0 = time.perf_counter()
from carriersim.simulator.http.app import OPENED, STATE, create_app
from carriersim.simulator.http.durability import Durability
imported = time.perf_counter() - t0
load_seconds = 0.0
_load = Durability._load
def timed_load(self, snapshot_id):
    global load_seconds
    t = time.perf_counter()
    try:
        return _load(self, snapshot_id)
    finally:
        load_seconds += time.perf_counter() - t
Durability._load = timed_load
t1 = time.perf_counter()
app = create_app(db=sys.argv[1])
total = time.perf_counter() - t1
state = app[STATE]
cards = len(state.sim.cards)
state.durability.store.close()
print(json.dumps({**app[OPENED], "create_app_seconds": round(total, 3), "import_seconds": round(imported, 3),
                  "snapshot_load_seconds": round(load_seconds, 3),
                  "cards": cards, "now": state.sim.iso(state.sim.now)}))
"""


LIST_CARDS = r"""
import json, sys
from carriersim.simulator.http.app import STATE, create_app
app = create_app(db=sys.argv[1])
print(json.dumps([c.iccid for c in app[STATE].sim.cards]))
app[STATE].durability.store.close()
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Server:
    """``carriersim serve`` as a subprocess; ``started`` is the wall time from Popen to its "ready at" line."""

    def __init__(self, token: str, seed: int, db: Path | None = None, db_sync: str = "normal",
                 timeout: float = 600.0, stderr: Path | None = None) -> None:
        cmd = [sys.executable, "-m", "carriersim", "serve", "--port", "0", "--admin-token", token,
               "--seed", str(seed)]
        if db is not None:
            cmd += ["--db", str(db), "--db-sync", db_sync]
        self.err = open(stderr, "ab") if stderr else subprocess.DEVNULL
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        deadline = t0 + timeout
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"server exited before it was ready (rc {self.proc.wait()}): {' '.join(cmd)}"
                                 + (f"; see {stderr}" if stderr else ""))
            match = re.search(READY, line)
            if match:
                break
            if time.perf_counter() > deadline:
                self.proc.kill()
                raise SystemExit(f"server not ready within {timeout} s")
        self.started = time.perf_counter() - t0
        self.line = line.strip()
        self.base = match.group(1)
        self.answered = False
        restored = re.search(RESTORED, line)
        self.restored = None if restored is None else {
            "snapshot": int(restored.group(1)), "replayed": int(restored.group(2)),
            "seconds": float(restored.group(3))}

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 600.0) -> float:
        """SIGTERM and wait for the exit (a durable server writes its shutdown snapshot first); seconds taken."""
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            # `serve` prints its ready line just before it installs its SIGINT/SIGTERM handlers; a SIGTERM sent in
            # between kills it without the clean shutdown. Once it has answered a request, the handlers are in.
            self.answer()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise SystemExit(f"server did not stop within {timeout} s of SIGTERM")
        self._close()
        if self.proc.returncode != 0:
            raise SystemExit(f"server exited with {self.proc.returncode} on SIGTERM")
        return time.perf_counter() - t0

    def answer(self) -> None:
        if not self.answered:
            with urllib.request.urlopen(f"{self.base}/openapi.json", timeout=600) as resp:
                resp.read()
            self.answered = True

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.err is not subprocess.DEVNULL:
            self.err.close()


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def open_in_process(path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", OPEN_ONLY, str(path)], capture_output=True, text=True, cwd=ROOT,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"create_app(db={path}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def post(session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: Any) -> Any:
    async with session.post(url, json=body, headers=headers) as resp:
        data = await resp.json(content_type=None)
        if resp.status >= 300:
            raise SystemExit(f"POST {url} answered {resp.status}: {data}")
        return data


async def make_fleet(session: aiohttp.ClientSession, base: str, admin: dict[str, str], cards: int, seed: int,
                     concurrency: int) -> list[str]:
    """``POST /_sim/fleet`` and the ICCIDs of every card it made (listed through each account's key)."""
    built = await post(session, f"{base}/_sim/fleet", admin,
                       {"cards": cards, "accounts": max(1, min(10_000, cards // 50)), "seed": seed})
    keys = [a["api_key"] for a in built["accounts"]]
    found: list[list[str]] = [[] for _ in keys]
    todo = iter(range(len(keys)))

    async def lister() -> None:
        for i in todo:
            user = {"Authorization": f"Bearer {keys[i]}"}
            cursor: str | None = "0"
            while cursor is not None:
                async with session.get(f"{base}/v1/cards", params={"cursor": cursor, "limit": 1000},
                                       headers=user) as resp:
                    page = await resp.json()
                found[i] += [c["iccid"] for c in page["items"]]
                cursor = page["next_cursor"]

    await asyncio.gather(*(lister() for _ in range(min(concurrency, len(keys)))))
    iccids = [c for part in found for c in part]
    if len(iccids) != built["cards"]:
        raise SystemExit(f"listed {len(iccids)} cards of the {built['cards']} generated")
    return iccids


async def writes(session: aiohttp.ClientSession, base: str, admin: dict[str, str], picks: list[str],
                 amounts: list[int], concurrency: int) -> dict[str, int]:
    """Usage reports (statuses counted; a refusal — a card stopped past its quota — is not a failure here)."""
    statuses: dict[str, int] = {}
    todo = iter(range(len(picks)))

    async def worker() -> None:
        for i in todo:
            async with session.post(f"{base}/_sim/cards/{picks[i]}/usage", json={"kb": amounts[i]},
                                    headers=admin) as resp:
                await resp.read()
                statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if any(int(s) >= 500 for s in statuses):
        raise SystemExit(f"server errors during writes: {statuses}")
    return statuses


# ---------------------------------------------------------------------------------------------- 1. throughput

async def compare(args: argparse.Namespace, session: aiohttp.ClientSession, admin: dict[str, str],
                  targets: dict[str, tuple[Server, list[str]]], label: str, requests: int, rounds: int
                  ) -> dict[str, Any]:
    """Warm-up, then ``rounds`` × ``requests`` usage reports on each target in turn (best round kept)."""
    n = args.warmup + requests * rounds
    amounts = [random.Random(args.seed + 1).randint(1, 64) for _ in range(n)]
    picks = {}
    for name, (_, cards) in targets.items():
        rng = random.Random(args.seed)
        picks[name] = [rng.choice(cards) for _ in range(n)]
    snaps_before = {name: await snapshot_ids(session, server, admin) for name, (server, _) in targets.items()}
    for name, (server, _) in targets.items():  # warm-up: unmeasured requests
        p, base = picks[name], server.base
        await load(session, args.warmup, args.concurrency,
                   lambda i, p=p, base=base: ("POST", f"{base}/_sim/cards/{p[i]}/usage", admin, {"kb": amounts[i]}))
    results: dict[str, dict[str, Any]] = {}
    for r in range(rounds):  # alternate the targets, so both see the same machine
        for name, (server, _) in targets.items():
            offset = args.warmup + r * requests
            p, base = picks[name], server.base
            got = await load(session, requests, args.concurrency,
                             lambda i, p=p, base=base, o=offset: (
                                 "POST", f"{base}/_sim/cards/{p[o + i]}/usage", admin, {"kb": amounts[o + i]}),
                             server.pid)
            best = results.get(name)
            errors = got["errors"] + (best["errors"] if best else 0)
            if best is None or got["rps"] > best["rps"]:
                best = got
            results[name] = {**best, "errors": errors}
            log(f"{label} {name:>8} round {r + 1}: {got['rps']:>8.1f} req/s  p50 {got['p50_ms']} ms  p99 "
                f"{got['p99_ms']} ms  server {got['server_cpu_us_per_req']} µs CPU/req  errors {got['errors']}")
    for name, (server, _) in targets.items():
        if snaps_before[name] is not None:  # automatic snapshots taken during warm-up and measured rounds
            after = await snapshot_ids(session, server, admin)
            results[name]["auto_snapshots"] = sum(1 for i in after or [] if i > max(snaps_before[name]))
    return results


async def snapshot_ids(session: aiohttp.ClientSession, server: Server, admin: dict[str, str]) -> list[int] | None:
    async with session.get(f"{server.base}/_sim/snapshots", headers=admin) as resp:
        if resp.status == 409:  # durability_disabled: in memory
            return None
        return [s["id"] for s in (await resp.json())["items"]]


async def throughput(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    token = secrets.token_urlsafe(12)
    admin = {"Authorization": f"Bearer {token}"}
    servers: dict[str, Server] = {}
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            targets = {}
            for name, db in (("memory", None), ("durable", tmp / "writes.db")):
                server = servers[name] = Server(token, args.seed, db, args.db_sync, stderr=tmp / f"{name}.log")
                cards = await make_fleet(session, server.base, admin, args.write_fleet, args.seed,
                                         args.concurrency)
                targets[name] = (server, cards)
                log(f"{name}: serving {len(cards)} cards at {server.base}")
            results = await compare(args, session, admin, targets, "small fleet", args.requests, args.rounds)
    finally:
        stops = {name: s.stop() for name, s in servers.items()}
    return {"results": results, "stop_seconds": {k: round(v, 3) for k, v in stops.items()},
            "db_size_mb": round(db_bytes(tmp / "writes.db") / 2**20, 2)}


async def throughput_big(args: argparse.Namespace, path: Path, tmp: Path, cards: list[str]) -> dict[str, Any]:
    """The same comparison on the big state: the built file served with --db, against an in-memory server with a
    fleet of the same size advanced as many months in one go (same cards, no traffic history)."""
    token = secrets.token_urlsafe(12)
    admin = {"Authorization": f"Bearer {token}"}
    servers: dict[str, Server] = {}
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
            memory = servers["memory"] = Server(token, args.seed, None, stderr=tmp / "memory-big.log")
            mcards = await make_fleet(session, memory.base, admin, args.cards, args.seed, args.concurrency)
            await post(session, f"{memory.base}/_sim/clock/advance", admin, {"by": f"{args.months} months"})
            servers["durable"] = Server(token, args.seed, path, args.db_sync, stderr=tmp / "durable-big.log")
            log(f"big state: in memory {len(mcards)} cards (RSS {rss_mb(memory.pid)} MB), durable {len(cards)} "
                f"cards (RSS {rss_mb(servers['durable'].pid)} MB)")
            results = await compare(args, session, admin, {"memory": (memory, mcards),
                                                           "durable": (servers["durable"], cards)}, "big state",
                                    args.big_requests, 1)
    finally:
        stops = {name: s.stop() for name, s in servers.items()}
    log(f"big state: stops {stops}")
    return {"results": results, "stop_seconds": {k: round(v, 3) for k, v in stops.items()}}


# ---------------------------------------------------------------------------------------------- 2. restart

async def build(args: argparse.Namespace, path: Path, tmp: Path) -> dict[str, Any]:
    """The --cards / --months state, through a real server, left behind by a clean stop."""
    token = secrets.token_urlsafe(12)
    admin = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    server = Server(token, args.seed, path, args.db_sync, stderr=tmp / "build.log")
    rng = random.Random(args.seed + 2)
    reports: dict[str, int] = {}
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
            log(f"build: generating {args.cards} cards…")
            t1 = time.perf_counter()
            cards = await make_fleet(session, server.base, admin, args.cards, args.seed, args.concurrency)
            log(f"build: {len(cards)} cards in {time.perf_counter() - t1:.1f} s")
            advance_seconds = []
            for month in range(args.months):
                t1 = time.perf_counter()
                picks = rng.sample(cards, int(len(cards) * args.traffic))
                # most cards use part of a month's quota; some run far past it (and are stopped, then refused)
                amounts = [rng.randint(1_000, 300_000) if rng.random() < 0.9 else rng.randint(300_000, 3_000_000)
                           for _ in picks]
                got = await writes(session, server.base, admin, picks, amounts, args.concurrency)
                for k, v in got.items():
                    reports[k] = reports.get(k, 0) + v
                t2 = time.perf_counter()
                now = await post(session, f"{server.base}/_sim/clock/advance", admin, {"by": "1 month"})
                advance_seconds.append(time.perf_counter() - t2)
                log(f"build: month {month + 1}/{args.months}: {len(picks)} usage reports in {t2 - t1:.1f} s "
                    f"({got}), advance to {now['now']} in {advance_seconds[-1]:.1f} s; db "
                    f"{db_bytes(path) / 2**20:.1f} MB, server RSS {rss_mb(server.pid)} MB")
            async with session.get(f"{server.base}/_sim/snapshots", headers=admin) as resp:
                snaps = (await resp.json())["items"]
        rss = rss_mb(server.pid)
    except BaseException:
        server.kill()
        raise
    log("build: stopping the server (SIGTERM: shutdown snapshot)…")
    stop = server.stop()
    log(f"build: done in {time.perf_counter() - t0:.1f} s; stop took {stop:.1f} s; db {db_bytes(path) / 2**20:.1f} MB")
    return {"cards": len(cards), "build_seconds": round(time.perf_counter() - t0, 1),
            "usage_reports": reports, "advance_seconds": round(sum(advance_seconds), 2),
            "server_rss_mb": rss, "stop_seconds": round(stop, 2), "auto_snapshots_while_building": len(
                [s for s in snaps if s["kind"] == "auto"]), "cards_list": cards}


async def restart(args: argparse.Namespace, path: Path, tmp: Path, cards: list[str]) -> dict[str, Any]:
    token = secrets.token_urlsafe(12)
    admin = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}

    # (a) after a clean stop
    clean = []
    for i in range(args.restarts):
        server = Server(token, args.seed, path, args.db_sync, stderr=tmp / "restart.log")
        rss = rss_mb(server.pid)
        stop = server.stop()
        clean.append({"seconds": server.started, "opened": server.restored, "rss_mb": rss, "stop_seconds": stop})
        log(f"restart after a clean stop #{i + 1}: ready in {server.started:.2f} s ({server.restored}); RSS {rss} "
            f"MB; stop {stop:.2f} s")
    best = min(clean, key=lambda c: c["seconds"])
    out["restart_clean_seconds"] = round(best["seconds"], 3)
    out["restart_clean_all_seconds"] = [round(c["seconds"], 3) for c in clean]
    out["restart_clean_opened"] = best["opened"]
    out["server_rss_mb"] = best["rss_mb"]
    inproc = open_in_process(path)
    log(f"create_app(db=…) after a clean stop: {inproc}")
    out["open_clean_seconds"] = inproc["seconds"]
    out["open_clean"] = inproc

    # (b) after SIGKILL, with a journal tail to replay
    server = Server(token, args.seed, path, args.db_sync, stderr=tmp / "restart.log")
    rng = random.Random(args.seed + 3)
    half = args.tail // 2
    picks = [rng.choice(cards) for _ in range(args.tail)]
    amounts = [rng.randint(1, 64) for _ in picks]
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
            async with session.get(f"{server.base}/_sim/snapshots", headers=admin) as resp:
                before = max(s["id"] for s in (await resp.json())["items"])
            t0 = time.perf_counter()
            first = await writes(session, server.base, admin, picks[:half], amounts[:half], args.concurrency)
            now = await post(session, f"{server.base}/_sim/clock/advance", admin, {"by": "1 day"})
            second = await writes(session, server.base, admin, picks[half:], amounts[half:], args.concurrency)
            tail_seconds = time.perf_counter() - t0
            async with session.get(f"{server.base}/_sim/snapshots", headers=admin) as resp:
                snaps = (await resp.json())["items"]
    finally:
        server.kill()
    statuses = {k: first.get(k, 0) + second.get(k, 0) for k in {*first, *second}}
    log(f"{args.tail} usage reports and a one-day advance (to {now['now']}) in {tail_seconds:.1f} s ({statuses}); "
        "SIGKILL")
    out["tail_writes"] = args.tail + 1
    out["tail_statuses"] = statuses
    out["auto_snapshots_in_tail"] = sum(1 for s in snaps if s["id"] > before)
    out["db_size_after_kill_mb"] = round(db_bytes(path) / 2**20, 2)
    server = Server(token, args.seed, path, args.db_sync, stderr=tmp / "restart.log")
    server.answer()
    server.kill()  # not SIGTERM: its shutdown snapshot would leave nothing to replay for the in-process figure
    log(f"restart after SIGKILL: ready in {server.started:.2f} s ({server.restored})")
    out["restart_after_kill_seconds"] = round(server.started, 3)
    out["restart_after_kill_opened"] = server.restored
    out["replayed_entries"] = server.restored["replayed"] if server.restored else None
    inproc = open_in_process(path)
    log(f"create_app(db=…) after SIGKILL: {inproc}")
    out["open_after_kill_seconds"] = inproc["seconds"]
    out["open_after_kill"] = inproc
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carriersim-durability-", dir=args.tmp) as tmpname:
        tmp = Path(tmpname)
        log(f"write throughput: {args.requests} POST usage at concurrency {args.concurrency}, fleet of "
            f"{args.write_fleet} cards, in memory and with --db {tmp / 'writes.db'}")
        tp = await throughput(args, tmp)
        path = tmp / "state.db"
        if args.reuse:
            log(f"restart: reusing {args.reuse} (a copy, as {path})")
            path.write_bytes(Path(args.reuse).read_bytes())
            listed = subprocess.run([sys.executable, "-c", LIST_CARDS, str(path)], capture_output=True, text=True,
                                    cwd=ROOT, check=True)
            built = {"cards_list": json.loads(listed.stdout), "build_seconds": None, "usage_reports": None,
                     "stop_seconds": None, "auto_snapshots_while_building": None, "reused": args.reuse}
            built["cards"] = len(built["cards_list"])
        else:
            log(f"restart: building {args.cards} cards × {args.months} months in {path}")
            built = await build(args, path, tmp)
        size = db_bytes(path)
        cards = built.pop("cards_list")
        rs = await restart(args, path, tmp, cards)
        big = None
        if not args.no_big_throughput:
            log(f"write throughput on the {len(cards)}-card state: {args.big_requests} POST usage, --db against "
                "memory")
            big = await throughput_big(args, path, tmp, cards)
        if args.keep:
            keep = Path(args.keep)
            keep.write_bytes(path.read_bytes())
            log(f"kept the state file as {keep}")
        return {"throughput": tp, "build": built, "restart": rs, "db_size": size, "big": big}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=None, help="measured usage reports per target (default 20000)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=None, help="unmeasured requests per target first (default 2000)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="measure each throughput target this many times, alternating; keep the best (default 3)")
    ap.add_argument("--write-fleet", type=int, default=None, help="cards of the throughput servers (default 5000)")
    ap.add_argument("--cards", type=int, default=None, help="cards of the restart state (default 100000)")
    ap.add_argument("--months", type=int, default=12, help="months of history of the restart state")
    ap.add_argument("--traffic", type=float, default=0.1,
                    help="share of the cards reporting usage before each month's advance (default 0.1)")
    ap.add_argument("--tail", type=int, default=None, help="writes between the restart and the SIGKILL (default 5000)")
    ap.add_argument("--restarts", type=int, default=None, help="clean restarts timed; the best counts (default 3)")
    ap.add_argument("--big-requests", type=int, default=None,
                    help="usage reports per target on the --cards state (default 40000: several auto snapshots)")
    ap.add_argument("--no-big-throughput", action="store_true",
                    help="skip the write throughput comparison on the --cards state")
    ap.add_argument("--db-sync", choices=("normal", "full"), default="normal")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tmp", default=None, help="folder for the temporary databases (default: the system's)")
    ap.add_argument("--keep", metavar="FILE", help="copy the built restart state here")
    ap.add_argument("--reuse", metavar="FILE", help="measure restarts on a copy of this state (kept with --keep) "
                    "instead of building one; --cards/--months are then not checked against it")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2000 cards, 2000 requests (~20 s)")
    args = ap.parse_args()
    quick = {"rounds": 1, "requests": 2_000, "big_requests": 2_000, "warmup": 200, "write_fleet": 1_000,
             "cards": 2_000, "tail": 500, "restarts": 1}
    full = {"rounds": 3, "requests": 20_000, "big_requests": 40_000, "warmup": 2_000, "write_fleet": 5_000,
            "cards": 100_000, "tail": 5_000, "restarts": 3}
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)

    t0 = time.perf_counter()
    out = asyncio.run(run(args))
    tp, built, rs = out["throughput"]["results"], out["build"], out["restart"]
    big = out["big"]["results"] if out["big"] else None
    ratio = tp["durable"]["rps"] / tp["memory"]["rps"]
    cap = (tp["durable"]["server_capacity_rps"] / tp["memory"]["server_capacity_rps"]
           if tp["durable"]["server_capacity_rps"] and tp["memory"]["server_capacity_rps"] else None)
    restart_worst = max(rs["restart_clean_seconds"], rs["restart_after_kill_seconds"])
    print(json.dumps({
        "post_usage_durable_rps": tp["durable"]["rps"], "post_usage_memory_rps": tp["memory"]["rps"],
        "ratio_durable_memory": round(ratio, 3), "throughput_bar_met": ratio >= 0.5,
        "server_cpu_us_per_req": {k: v["server_cpu_us_per_req"] for k, v in tp.items()},
        "server_capacity_rps": {k: v["server_capacity_rps"] for k, v in tp.items()},
        "capacity_ratio_durable_memory": None if cap is None else round(cap, 3),
        "latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in tp.items()},
        "client_cpu_share": {k: v["client_cpu_share"] for k, v in tp.items()},
        "errors": sum(v["errors"] for v in tp.values()),
        "requests": args.requests, "warmup": args.warmup, "rounds": args.rounds, "concurrency": args.concurrency,
        "write_fleet_cards": args.write_fleet,
        "auto_snapshots_during_load": tp["durable"].get("auto_snapshots"),
        "big_state": None if big is None else {
            "cards": built["cards"], "post_usage_durable_rps": big["durable"]["rps"],
            "post_usage_memory_rps": big["memory"]["rps"],
            "ratio_durable_memory": round(big["durable"]["rps"] / big["memory"]["rps"], 3),
            "server_cpu_us_per_req": {k: v["server_cpu_us_per_req"] for k, v in big.items()},
            "latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in big.items()},
            "auto_snapshots_during_load": big["durable"].get("auto_snapshots"),
            "requests": args.big_requests, "errors": sum(v["errors"] for v in big.values()),
            "throughput_bar_met": big["durable"]["rps"] >= 0.5 * big["memory"]["rps"]},
        "cards": built["cards"], "months": args.months, "traffic_share": args.traffic,
        "usage_reports_in_build": built["usage_reports"], "build_seconds": built["build_seconds"],
        "build_clean_stop_seconds": built["stop_seconds"], "auto_snapshots_while_building":
            built["auto_snapshots_while_building"],
        "db_size_mb": round(out["db_size"] / 2**20, 2),
        "restart_clean_seconds": rs["restart_clean_seconds"], "restart_clean_all_seconds":
            rs["restart_clean_all_seconds"], "open_clean_seconds": rs["open_clean_seconds"],
        "snapshot_load_seconds": rs["open_clean"]["snapshot_load_seconds"],
        "replay_seconds": round(rs["open_after_kill"]["seconds"] - rs["open_after_kill"]["snapshot_load_seconds"], 3),
        "restart_after_kill_seconds": rs["restart_after_kill_seconds"],
        "open_after_kill_seconds": rs["open_after_kill_seconds"],
        "replayed_entries": rs["replayed_entries"], "tail_writes": rs["tail_writes"],
        "auto_snapshots_in_tail": rs["auto_snapshots_in_tail"],
        "import_seconds": rs["open_clean"]["import_seconds"],
        "server_rss_mb_after_restart": rs["server_rss_mb"],
        "restart_bar_met": restart_worst <= 5.0,
        "bar_met": ratio >= 0.5 and restart_worst <= 5.0,
        "db_sync": args.db_sync, "seed": args.seed, "total_seconds": round(time.perf_counter() - t0, 1),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
