"""Durable state (issue 4) with ``carriersim serve --db`` as a real process.

- Crash acceptance: a stream of writes (top-ups, usage reports, plan changes, clock advances) is sent to the server,
  which is killed with SIGKILL mid-stream (after 5, 40 and 150 writes, and once while several requests are in flight
  concurrently) and restarted on the same file: every write answered 2xx is there (each answered top-up's payment in
  the ledger with its amount, each answered plan change pending or applied, usage counted), the ledger balances
  (for every card the sum of its ledger amounts equals its balance), and after a sequential kill the rebuilt world is
  byte for byte the world of the answered writes (or of those plus the one in flight), computed independently.
- Integrity: a text file, random bytes, another application's SQLite database, a carriersim database of a newer
  schema and one with damaged pages are refused (exit 1, a message naming the file) and left byte for byte as they
  were; a second server on a file in use is refused.
- ``carriersim snapshot list|save|restore|export|import`` on real files.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import queue
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from carriersim.simulator import Simulation
from carriersim.simulator.cli import main as cli_main
from carriersim.simulator.durable.store import APPLICATION_ID, SCHEMA_VERSION
from carriersim.simulator.http.app import OPENED, STATE, create_app
from carriersim.simulator.identifiers import make_imei
from carriersim.simulator.profile import builtin_profiles

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"carriersim ready at http://127\.0\.0\.1:(\d+) ")
RESTORED = re.compile(r"world restored from .*: snapshot #(\d+) and (\d+) journal entries")
START = "2027-01-01T00:00:00+08:00"
NEXT_CYCLE = "2027-02-01T00:00:00+08:00"
TOKEN = "T"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CARDS = (("cmcc", ("CMCC-M30", "CMCC-M100", "CMCC-M1G")), ("cucc", ("CUCC-M50", "CUCC-M500", "CUCC-M2G")),
         ("ctcc", ("CTCC-M20", "CTCC-M300", "CTCC-M1G")))




def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CARRIERSIM_ADMIN_TOKEN"}


class Server:
    """``python -m carriersim serve --db PATH --port 0 --admin-token T`` and its ready line."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.stderr_path = db.with_name(db.name + f".stderr.{time.monotonic_ns()}")
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "carriersim", "serve", "--db", str(db), "--port",
                                      "0", "--admin-token", TOKEN, *extra], cwd=ROOT, env=_env(),
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True, encoding="utf-8")
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 30
        self.ready_line = ""
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            if READY.search(line):
                self.ready_line = line
                break
        if not self.ready_line:
            self.kill()
            raise AssertionError(f"no 'ready at' line (exit {self.proc.poll()}): {self.stderr()}")
        self.port = int(READY.search(self.ready_line).group(1))  # type: ignore[union-attr]

    def restored(self) -> tuple[int, int] | None:
        """(snapshot id, journal entries replayed) from the ready line, when the world came from the file."""
        m = RESTORED.search(self.ready_line)
        return None if m is None else (int(m.group(1)), int(m.group(2)))

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text()

    def http(self) -> "Http":
        return Http(self.port)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no final snapshot, whatever was in flight is cut off."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._stderr.close()

    def stop(self) -> None:
        """SIGTERM: a clean stop (final snapshot), exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        self._stderr.close()
        assert code == 0, self.stderr()
        assert "Traceback" not in self.stderr()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            server.kill()


def start(servers: list[Server], db: Path, *extra: str) -> Server:
    server = Server(db, *extra)
    servers.append(server)
    return server


class Http:
    """One keep-alive connection; ``send`` without reading leaves a request in flight."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
        self.conn.request(method, path, body=data, headers=hdrs)

    def answer(self) -> tuple[int, Any]:
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        self.send(method, path, body, headers)
        return self.answer()

    def get(self, path: str, headers: dict[str, str]) -> Any:
        status, data = self.call("GET", path, None, headers)
        assert status == 200, (path, status, data)
        return data


# ---------------------------------------------------------------------------------------------- the write stream


@dataclass
class Write:
    kind: str  # account, open, activate, topup, usage, plan, withdraw, advance, snapshot
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    iccid: str | None = None
    status: int | None = None  # once answered
    answer: Any = None


@dataclass
class Stream:
    """A seeded stream of writes; each next write may depend on earlier answers (the ICCIDs opened)."""

    seed: int
    rng: random.Random = field(init=False)
    written: list[Write] = field(default_factory=list)
    key: dict[str, str] = field(default_factory=dict)
    iccids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self) -> Write:
        i = len(self.written)
        if i == 0:
            return Write("account", "POST", "/_sim/accounts", {"name": "Acme", "verified": True}, ADMIN)
        if i <= 2 * len(CARDS):
            carrier, plans = CARDS[(i - 1) // 2]
            if i % 2:
                return Write("open", "POST", "/v1/cards", {"carrier": carrier, "plan": plans[1], "payment": "200"},
                             self.key)
            return Write("activate", "POST", f"/v1/cards/{self.iccids[-1]}/activation",
                         {"imei": make_imei(70_000 + i)}, self.key, self.iccids[-1])
        if i == 20:  # a named snapshot: later restarts replay from it
            return Write("snapshot", "POST", "/_sim/snapshots", {"name": "w20"}, ADMIN)
        n = self.rng.randrange(len(self.iccids))
        iccid, plans = self.iccids[n], CARDS[n][1]
        roll = self.rng.random()
        if roll < 0.35:
            amount = f"{self.rng.randint(1, 50)}.{self.rng.randint(0, 99):02d}"
            return Write("topup", "POST", f"/v1/cards/{iccid}/top-ups", {"amount": amount}, self.key, iccid)
        if roll < 0.65:
            return Write("usage", "POST", f"/_sim/cards/{iccid}/usage", {"mb": self.rng.randint(1, 5)}, ADMIN,
                         iccid)
        if roll < 0.85:
            return Write("plan", "POST", f"/v1/cards/{iccid}/plan-change", {"plan": self.rng.choice(plans)},
                         self.key, iccid)
        if roll < 0.88:
            return Write("withdraw", "DELETE", f"/v1/cards/{iccid}/plan-change", None, self.key, iccid)
        return Write("advance", "POST", "/_sim/clock/advance", {"by": "2 days"}, ADMIN)

    def answered(self, write: Write, status: int, answer: Any) -> None:
        write.status, write.answer = status, answer
        self.written.append(write)
        if write.kind == "account":
            assert status == 201, answer
            self.key.update({"Authorization": f"Bearer {answer['api_key']}"})
        elif write.kind == "open":
            assert status == 201, answer
            self.iccids.append(answer["iccid"])

    def ok(self) -> list[Write]:
        return [w for w in self.written if w.status is not None and w.status < 300]


def journaled(writes: list[Write]) -> int:
    """How many journal entries these answered writes made: every 2xx POST/DELETE but the snapshot ones."""
    return sum(1 for w in writes if w.status is not None and w.status < 300 and w.kind != "snapshot")


def reference(writes: list[Write], extra: Write | None) -> tuple[str, str | None]:
    """The digest of an in-memory server (no --db) that got exactly ``writes`` — each answered as the real server
    answered it — and the digest after ``extra`` too (the request in flight at the kill)."""

    async def run() -> tuple[str, str | None]:
        sim = Simulation(seed=1, start=START, profiles=builtin_profiles())  # what `carriersim serve` builds
        app = create_app(sim, admin_token=TOKEN)
        async with TestClient(TestServer(app)) as client:
            for w in writes:
                if w.kind == "snapshot":  # not a change of the world
                    continue
                r = await client.request(w.method, w.path, json=w.body, headers=w.headers)
                text = await r.text()
                answer = json.loads(text) if text else None
                assert (r.status, answer) == (w.status, w.answer), w
            first = app[STATE].sim.digest()
            second = None
            if extra is not None:
                await client.request(extra.method, extra.path, json=extra.body, headers=extra.headers)
                second = app[STATE].sim.digest()
        return first, second

    return asyncio.run(run())


def reopen_digest(db: Path) -> tuple[str, dict[str, Any]]:
    """Open the file in this process (no server running on it) and return the world's digest and how it was
    opened; the store is closed again without a snapshot."""
    app = create_app(db=str(db))
    try:
        return app[STATE].sim.digest(), app[OPENED]
    finally:
        app[STATE].durability.store.close()  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- checks


@dataclass
class Known:
    """What the client knows is in the world, per card, plus at most one write per card whose fate is unknown."""

    topups: dict[str, dict[int, str]] = field(default_factory=dict)  # iccid -> payment seq -> amount
    plan: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # iccid -> (plan, effective_at)
    usage_kb: dict[str, int] = field(default_factory=dict)  # accepted since the cycle began (no cycle crossed)
    unknown: dict[str, Write] = field(default_factory=dict)  # iccid -> the write in flight at the kill
    advances: int = 0  # answered 1-hour advances
    advance_unknown: bool = False


def cards_of(h: Http, key: dict[str, str]) -> list[str]:
    return [c["iccid"] for c in h.get("/v1/cards?limit=1000", key)["items"]]


def check_ledgers(h: Http, key: dict[str, str], iccids: list[str]) -> dict[str, tuple[dict, dict]]:
    """Every card's ledger sums to its balance; returns iccid -> (card, ledger)."""
    out = {}
    for iccid in iccids:
        card = h.get(f"/v1/cards/{iccid}", key)
        ledger = h.get(f"/v1/cards/{iccid}/ledger", key)
        total = sum((Decimal(item["amount"]) for item in ledger["items"]), Decimal(0))
        assert total == Decimal(card["balance"]) == Decimal(ledger["balance"]), (iccid, ledger, card["balance"])
        if ledger["items"]:
            assert Decimal(ledger["items"][-1]["balance"]) == total
        out[iccid] = (card, ledger)
    return out


def check_answered(h: Http, stream: Stream, in_flight: Write | None) -> None:
    """Every 2xx answer of a sequential stream is in the restarted world, and nothing else but the write in flight."""
    key = stream.key
    if not key:  # killed before the account existed: nothing to see but the clock
        return
    listed = set(cards_of(h, key))
    opening = in_flight is not None and in_flight.kind == "open"  # a card whose opening was cut off may exist
    assert set(stream.iccids) <= listed and len(listed) <= len(stream.iccids) + opening, (listed, stream.iccids)
    views = check_ledgers(h, key, sorted(listed))
    now = h.get("/_sim/clock", ADMIN)["now"]
    for iccid in stream.iccids:
        card, ledger = views[iccid]
        payments = {item["seq"]: item["amount"] for item in ledger["items"] if item["kind"] == "payment"}
        for w in stream.ok():
            if w.kind == "topup" and w.iccid == iccid:
                assert payments.get(w.answer["payment"]) == "{:.2f}".format(Decimal(w.body["amount"])), (w, ledger)
        last = next((w for w in reversed(stream.ok()) if w.iccid == iccid and w.kind in ("plan", "withdraw")),
                    None)
        if last is None or in_flight is not None and in_flight.iccid == iccid and in_flight.kind in ("plan",
                                                                                                   "withdraw"):
            continue  # nothing known, or the last word is the write in flight: the digest check covers it
        if last.kind == "withdraw":
            assert card["pending_change"] is None, card
            continue
        pending = last.answer["pending_change"]
        if pending is None:
            assert card["pending_change"] is None, card
        elif pending["effective_at"] > now:  # ISO times of one offset compare as text
            assert card["pending_change"] == pending, (card, last)
        else:  # applied at the cycle start
            assert card["plan"] == last.body["plan"] and card["pending_change"] is None, (card, last)


@pytest.mark.parametrize("kill_after", [5, 40, 150])
def test_sigkill_mid_stream_loses_no_answered_write(tmp_path, servers, kill_after):
    """Acceptance: SIGKILL after ``kill_after`` answered writes, with the next one sent and not answered; after a
    restart on the same file every answered write is there, the ledgers balance, and the world is exactly the world
    of the answered writes (or of those and the one in flight), as an in-memory server given the same writes
    computes it."""
    db = tmp_path / "carriersim.db"
    server = start(servers, db)
    assert server.restored() is None  # a new file
    h = server.http()
    stream = Stream(seed=kill_after)
    while len(stream.written) < kill_after:
        w = stream.next()
        status, answer = h.call(w.method, w.path, w.body, w.headers)
        assert status < 500, (w, status, answer)
        stream.answered(w, status, answer)
    in_flight = stream.next()
    h.send(in_flight.method, in_flight.path, in_flight.body, in_flight.headers)  # ... and kill before the answer
    server.kill()
    assert server.proc.returncode == -signal.SIGKILL

    again = start(servers, db)
    restored = again.restored()
    assert restored is not None, again.ready_line
    snapshot_id, replayed = restored
    # the latest snapshot is the named one once it was taken (write 20), else the new file's first one; the journal
    # after it holds exactly the answered 2xx writes (and perhaps the one in flight), nothing else
    after = stream.written[21:] if kill_after > 20 else stream.written
    assert snapshot_id == (2 if kill_after > 20 else 1)
    assert replayed in (journaled(after), journaled(after) + 1), (restored, kill_after)
    h = again.http()
    check_answered(h, stream, in_flight)
    assert h.get("/_sim/snapshots", ADMIN)["items"][-1]["name"] == ("w20" if kill_after > 20 else None)
    again.stop()  # clean: a final snapshot

    digest, opened = reopen_digest(db)
    assert opened["replayed"] == 0  # the clean stop after a recovery left nothing to replay
    answered_only, with_in_flight = reference(stream.written, in_flight)
    assert digest in (answered_only, with_in_flight)
    if replayed == journaled(after):  # the entry count tells which: the one in flight never got journaled
        assert digest == answered_only
    else:
        assert digest == with_in_flight


def _guarded(errors: list[BaseException], target: Any, *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
    return threading.Thread(target=run)


def _worker(port: int, iccid: str, plans: tuple[str, ...], key: dict[str, str], seed: int, known: Known,
            answered: list[int], lock: threading.Lock, stop: threading.Event) -> None:
    """Writes on one card until the server dies; records answers in ``known`` and the write cut off in flight."""
    rng = random.Random(seed)
    h = Http(port)
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.4:
            w = Write("topup", "POST", f"/v1/cards/{iccid}/top-ups",
                      {"amount": f"{rng.randint(1, 30)}.{rng.randint(0, 99):02d}"}, key, iccid)
        elif roll < 0.75:
            w = Write("usage", "POST", f"/_sim/cards/{iccid}/usage", {"mb": rng.randint(1, 3)}, ADMIN, iccid)
        else:
            w = Write("plan", "POST", f"/v1/cards/{iccid}/plan-change", {"plan": rng.choice(plans)}, key, iccid)
        try:
            status, answer = h.call(w.method, w.path, w.body, w.headers)
        except (OSError, http.client.HTTPException):
            known.unknown[iccid] = w
            return
        assert status < 500, (w, status, answer)
        with lock:
            answered.append(1)
        if status >= 300:
            continue
        if w.kind == "topup":
            known.topups[iccid][answer["payment"]] = "{:.2f}".format(Decimal(w.body["amount"]))
        elif w.kind == "usage":
            known.usage_kb[iccid] += answer["accepted_kb"]
        else:
            p = answer["pending_change"]
            known.plan[iccid] = (p["plan"], p["effective_at"])


def _clock_worker(port: int, known: Known, stop: threading.Event) -> None:
    h = Http(port)
    while not stop.is_set():
        try:
            status, answer = h.call("POST", "/_sim/clock/advance", {"by": "1 hour"}, ADMIN)
        except (OSError, http.client.HTTPException):
            known.advance_unknown = True
            return
        assert status == 200, answer
        known.advances += 1
        time.sleep(0.01)


def _check_known(h: Http, key: dict[str, str], iccids: list[str], known: Known) -> int:
    """The restarted world holds everything answered, and of the writes in flight at most each one; then what was
    in flight is settled as seen (for the next round). Returns the clock (epoch seconds)."""
    views = check_ledgers(h, key, iccids)
    for iccid in iccids:
        card, ledger = views[iccid]
        inflight = known.unknown.pop(iccid, None)
        topups = {item["seq"]: item["amount"] for item in ledger["items"] if item["item"] == "top_up"}
        for seq, amount in known.topups[iccid].items():
            assert topups.get(seq) == amount, (iccid, seq, amount, ledger)
        extra = {s: a for s, a in topups.items() if s not in known.topups[iccid]}
        if extra:  # only the top-up in flight may have landed unanswered
            assert inflight is not None and inflight.kind == "topup", (extra, inflight)
            assert list(extra.values()) == ["{:.2f}".format(Decimal(inflight.body["amount"]))]
        known.topups[iccid] = topups
        pending = card["pending_change"]
        seen = None if pending is None else (pending["plan"], pending["effective_at"])
        allowed = {known.plan[iccid]}
        if inflight is not None and inflight.kind == "plan" and inflight.body["plan"] != card["plan"]:
            allowed.add((inflight.body["plan"], NEXT_CYCLE))  # the clock stays in January: it takes effect then
        assert seen in allowed, (iccid, seen, allowed)
        known.plan[iccid] = seen
        used = round(card["usage"]["cycle_mb"] * 1024)
        top = known.usage_kb[iccid] + (inflight.body["mb"] * 1024 if inflight and inflight.kind == "usage" else 0)
        assert known.usage_kb[iccid] - 1 <= used <= top + 1, (iccid, used, known.usage_kb[iccid], inflight)
        known.usage_kb[iccid] = used
    clock = h.get("/_sim/clock", ADMIN)["now"]
    hours = int((datetime.fromisoformat(clock) - datetime.fromisoformat(START)).total_seconds()) // 3600
    assert clock < NEXT_CYCLE
    assert known.advances <= hours <= known.advances + known.advance_unknown, (clock, known.advances)
    known.advances, known.advance_unknown = hours, False
    return hours


def test_sigkill_with_requests_in_flight_concurrently(tmp_path, servers):
    """Acceptance: four clients write at once (three on their own card, one moving the clock an hour at a time);
    the server is killed while their requests are in flight, restarted, written to again and killed again. Each
    time, every answered write is there, each write cut off is there at most once, and the ledgers balance."""
    db = tmp_path / "carriersim.db"
    server = start(servers, db)
    h = server.http()
    stream = Stream(seed=99)
    for _ in range(1 + 2 * len(CARDS)):  # the account and its three cards, in service
        w = stream.next()
        stream.answered(w, *h.call(w.method, w.path, w.body, w.headers))
    key, iccids = stream.key, stream.iccids
    known = Known(topups={i: {} for i in iccids}, plan={i: None for i in iccids}, usage_kb={i: 0 for i in iccids})
    for round_ in range(2):
        answered: list[int] = []
        lock, stop = threading.Lock(), threading.Event()
        errors: list[BaseException] = []
        threads = [_guarded(errors, _worker, server.port, iccid, CARDS[n][1], key, 10 * round_ + n, known, answered,
                            lock, stop) for n, iccid in enumerate(iccids)]
        threads.append(_guarded(errors, _clock_worker, server.port, known, stop))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(answered) < 60 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(answered) >= 60, "the workers did not get going"
        server.kill()  # mid-stream: the workers are sending all the time
        stop.set()
        for t in threads:
            t.join(timeout=15)
        assert known.unknown, "no request was in flight at the kill"

        server = start(servers, db)
        assert server.restored() is not None
        assert not errors, errors
        _check_known(server.http(), key, iccids, known)
    server.stop()
    digest, opened = reopen_digest(db)
    assert opened["replayed"] == 0


# ---------------------------------------------------------------------------------------------- integrity


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_carriersim_db(path: Path) -> None:
    """A real carriersim database with a few hundred cards and a snapshot after them (cleanly closed)."""

    async def run() -> None:
        app = create_app(Simulation(seed=1), admin_token=TOKEN, db=str(path))
        async with TestClient(TestServer(app)) as client:
            r = await client.post("/_sim/fleet", json={"cards": 300}, headers=ADMIN)
            assert r.status == 201
            r = await client.post("/_sim/clock/advance", json={"by": "3 days"}, headers=ADMIN)
            assert r.status == 200

    asyncio.run(run())


def _text(p: Path) -> None:
    p.write_text("hello, I am a shopping list\nmilk\neggs\n" * 50)


def _random(p: Path) -> None:
    p.write_bytes(random.Random(4).randbytes(64 * 1024))


def _other_app(p: Path) -> None:
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, total REAL)")
    db.executemany("INSERT INTO invoices (customer, total) VALUES (?, ?)", [("a", 1.5), ("b", 2.5)])
    db.commit()
    db.close()


def _newer_schema(p: Path) -> None:
    make_carriersim_db(p)
    db = sqlite3.connect(p)
    db.execute("PRAGMA user_version = 99")
    db.close()


def _older_schema(p: Path) -> None:
    """A database of carriersim 0.1 (schema 1: a journal of native HTTP operation ids, pickles of old classes)."""
    make_carriersim_db(p)
    db = sqlite3.connect(p)
    db.execute("PRAGMA user_version = 1")
    db.close()


def _damaged_middle(p: Path) -> None:
    make_carriersim_db(p)
    size = p.stat().st_size
    with open(p, "r+b") as fh:  # 4 KiB of garbage in the middle of the file
        fh.seek(size // 2 - 2048)
        fh.write(random.Random(5).randbytes(4096))


def _damaged_btree(p: Path) -> None:
    make_carriersim_db(p)
    db = sqlite3.connect(p)
    root, page_size = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'journal'").fetchone()[0], \
        db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(p, "r+b") as fh:  # the journal table's root page: its b-tree header overwritten
        fh.seek((root - 1) * page_size)
        fh.write(b"\x07" + b"\xff" * 11)


DAMAGED = {
    "text": (_text, "not a carriersim database (not even SQLite)"),
    "random_bytes": (_random, "not a carriersim database (not even SQLite)"),
    "other_sqlite_app": (_other_app, "SQLite database of another application"),
    "newer_schema": (_newer_schema, "newer carriersim (schema 99"),
    "older_schema": (_older_schema, "older carriersim (schema 1"),
    "damaged_middle": (_damaged_middle, "is damaged"),
    "damaged_btree": (_damaged_btree, "is damaged"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_serve_refuses_foreign_or_damaged_file_and_leaves_it_untouched(tmp_path, case):
    """``carriersim serve --db FILE`` on a file that is not a usable carriersim database: exit 1, one clear line
    naming the file (no traceback), nothing listening, and the file byte for byte as it was (no -wal left)."""
    make, why = DAMAGED[case]
    db = tmp_path / f"{case}.db"
    make(db)
    before, listing = sha(db), sorted(os.listdir(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "carriersim", "serve", "--db", str(db), "--port", "0",
                           "--admin-token", TOKEN], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "ready at" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"carriersim: error: {db} ") and why in proc.stderr, proc.stderr
    assert "left untouched" in proc.stderr or "upgrade carriersim" in proc.stderr
    assert sha(db) == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_carriersim_db_of_current_schema_opens(tmp_path, servers):
    """The control case of the refusals above: the same database, undamaged, is served."""
    db = tmp_path / "ok.db"
    make_carriersim_db(db)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    server = start(servers, db)
    assert server.restored() is not None and server.restored()[1] == 0  # type: ignore[index]
    assert server.http().get("/_sim/clock", ADMIN)["now"] == "2027-01-04T00:00:00+08:00"
    server.stop()


def test_second_server_and_cli_on_a_file_in_use_are_refused(tmp_path, servers):
    """The file is held by a running server: another ``serve --db`` and ``snapshot list --db`` exit 1 with "in
    use", and the running server carries on unharmed."""
    db = tmp_path / "held.db"
    server = start(servers, db)
    h = server.http()
    assert h.call("POST", "/_sim/clock/advance", {"by": "1 day"}, ADMIN)[0] == 200
    for args in (["serve", "--db", str(db), "--port", "0", "--admin-token", TOKEN],
                 ["snapshot", "list", "--db", str(db)], ["snapshot", "save", "x", "--db", str(db)]):
        proc = subprocess.run([sys.executable, "-m", "carriersim", *args], cwd=ROOT, env=_env(),
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "in use" in proc.stderr and str(db) in proc.stderr.replace("\n", ""), proc.stderr
        assert "Traceback" not in proc.stderr
    assert h.call("POST", "/_sim/clock/advance", {"by": "1 day"}, ADMIN)[0] == 200
    assert h.get("/_sim/clock", ADMIN)["now"] == "2027-01-03T00:00:00+08:00"
    assert [s["name"] for s in h.get("/_sim/snapshots", ADMIN)["items"]] == [None]  # no "x" was saved
    server.stop()


# ---------------------------------------------------------------------------------------------- snapshot CLI


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_snapshot_cli_save_list_export_import_restore(tmp_path, capsys):
    """``carriersim snapshot`` on files no server holds: save and list; export to a file, import into another
    database and restore there — the same world (digest); refusals are one clean line with exit 1."""
    db, other, exported = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "bug.snap"
    code, _, err = run_cli(capsys, "snapshot", "list", "--db", str(db))
    assert code == 1 and "does not exist" in err and not db.exists()
    make_carriersim_db(db)
    digest, _ = reopen_digest(db)

    code, out, err = run_cli(capsys, "snapshot", "save", "bug", "--db", str(db))
    assert (code, err) == (0, "") and "saved snapshot 'bug' at 2027-01-04T00:00:00+08:00" in out
    code, out, err = run_cli(capsys, "snapshot", "list", "--db", str(db))
    assert code == 0 and re.search(r"\bbug\b.*\bnamed\b.*2027-01-04T00:00:00\+08:00", out), out
    assert re.search(r"\bauto\b.*2027-01-01T00:00:00\+08:00", out)  # the new file's first snapshot
    code, out, err = run_cli(capsys, "snapshot", "save", "bug", "--db", str(db))
    assert code == 1 and "exists already" in err and "Traceback" not in err

    code, out, err = run_cli(capsys, "snapshot", "export", "bug", str(exported), "--db", str(db))
    assert code == 0 and f"wrote {exported}" in out.replace("\n", "")
    con = sqlite3.connect(db)
    assert exported.read_bytes() == con.execute("SELECT data FROM snapshots WHERE name = 'bug'").fetchone()[0]
    con.close()
    code, out, err = run_cli(capsys, "snapshot", "export", "nope", str(tmp_path / "x"), "--db", str(db))
    assert code == 1 and "No snapshot named 'nope'" in err and not (tmp_path / "x").exists()

    code, out, err = run_cli(capsys, "snapshot", "import", str(exported), "--name", "from-a", "--db", str(other))
    assert code == 0 and "imported" in out and "'from-a'" in out, (out, err)
    code, out, err = run_cli(capsys, "snapshot", "import", str(exported), "--name", "from-a", "--db", str(other))
    assert code == 1 and "exists already" in err
    garbage = tmp_path / "garbage.snap"
    garbage.write_bytes(b"CSIMSNAP1\nthis is not zlib")
    before = sha(other)
    code, out, err = run_cli(capsys, "snapshot", "import", str(garbage), "--name", "g", "--db", str(other))
    assert code == 1 and "not a usable carriersim snapshot" in err
    assert sha(other) == before
    code, out, err = run_cli(capsys, "snapshot", "restore", "nope", "--db", str(other))
    assert code == 1 and "No snapshot named 'nope'" in err
    assert reopen_digest(other)[0] != digest  # still the other file's own (empty) world

    code, out, err = run_cli(capsys, "snapshot", "restore", "from-a", "--db", str(other))
    assert code == 0 and "restored 'from-a': the world is at 2027-01-04T00:00:00+08:00" in out
    restored, opened = reopen_digest(other)
    assert restored == digest and opened["replayed"] == 0  # restore saved a snapshot after it
    code, out, err = run_cli(capsys, "snapshot", "list", "--db", str(other))
    assert re.search(r"\bfrom-a\b.*\bimported\b", out), out


def test_snapshot_cli_import_of_missing_file_is_a_clean_error(tmp_path, capsys):
    code, out, err = run_cli(capsys, "snapshot", "import", str(tmp_path / "missing.snap"), "--name", "m", "--db",
                             str(tmp_path / "c.db"))
    assert code == 1 and "missing.snap" in err


def test_snapshot_cli_as_a_real_process(tmp_path):
    """The console entry point itself: ``python -m carriersim snapshot save/list`` exit 0 and print."""
    db = tmp_path / "a.db"
    make_carriersim_db(db)
    for args, expect in ((["save", "s1"], "saved snapshot 's1'"), (["list"], "s1")):
        proc = subprocess.run([sys.executable, "-m", "carriersim", "snapshot", *args, "--db", str(db)], cwd=ROOT,
                              env=_env(), capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and expect in proc.stdout, (proc.stdout, proc.stderr)
