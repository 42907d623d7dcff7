"""Record the native API's exact answers before a refactor, and replay them to prove a server still gives them.

The corpus (``native.jsonl.gz``) is gzip'd JSON lines: a first line ``{"meta": …}`` (server flags, sources and how
many exchanges each contributed), then one exchange a line, in the order they happened. An exchange holds the request
(method, path with query, the Authorization, Idempotency-Key and Content-Type headers, the raw body in base64) and the
response (status, Content-Type, Retry-After, WWW-Authenticate, Idempotent-Replayed, Allow, Location when present, and
the raw body: text when it is UTF-8, else base64).

This module deliberately imports nothing of the project (``simulator``, ``scenarios``, ``conformance``): their import
names will change in the refactor. It talks to ``carriersim serve`` as a subprocess and over HTTP only.

Recording (``record(path)``): a server is started (``carriersim serve --port 0 --seed 1 --admin-token corpus-admin``,
the ``carriersim`` next to ``sys.executable``) behind a recording reverse proxy (aiohttp, in a background thread with
its own loop). The proxy forwards each request with exactly the headers the corpus keeps, plus a constant ``Host``,
using the same code the replay uses, so a recorded answer is the answer to precisely the request the replay sends.
Three sources of traffic go through it, each starting with ``POST /_sim/reset {"seed": 1, "start":
"2027-01-01T00:00:00+08:00"}`` so that they do not depend on each other:

- ``readme``: the README's HTTP walk-through (section "The HTTP API"), sent with ``requests`` the way curl sends it.
- ``scenarios``: ``carriersim run scenarios/library --target <proxy> --admin-token corpus-admin`` (must exit 0).
- ``schemathesis``: for every operation of ``/openapi.json`` (fetched through the proxy), a few generated requests
  (Hypothesis ``derandomize``, no database, schemathesis seed 1; ``POSITIVE_EXAMPLES`` positive and
  ``NEGATIVE_EXAMPLES`` negative per operation), each operation on a world reset and rebuilt through the API
  (accounts, cards in several states, a pool, a batch job, a webhook, another account's card), with the right
  credentials per operation: the account's API key under ``/v1``, the admin token under ``/_sim``. Every other case
  names a card/pool/job/… of that world instead of a generated id, and every third positive case uses a meaningful
  body. The first case of each operation is sent twice more, without credentials and with the other kind of
  credential (the admin token under ``/v1``, the account key under ``/_sim``): 401 with ``WWW-Authenticate``. At
  the end, a few routes and methods the document does not have (404, 405). Left out or contained, because they cannot replay the same: ``setClockMode`` with mode ``accelerated``
  (real time moves the simulated clock; frozen and invalid modes are kept); the world registry's operations
  (``createWorld``, ``listWorlds``, ``getWorld``, ``deleteWorld``: fresh random ids and tokens, wall-clock times); webhook URLs point at a closed local port
  (127.0.0.1:9: no network, and no delivery can succeed); generated fleets are capped at 50 cards and 50 accounts.
  The snapshot and rewind routes are kept: without ``--db`` they answer ``durability_disabled`` (409) or a
  validation problem, deterministically. A generated ``Idempotency-Key`` gets a digest of the request in front (as
  tests/api/test_schemathesis.py does; otherwise nearly every POST would be ``idempotency_key_reused``), and one that
  is not printable ASCII is hex-encoded (HTTP client libraries cannot send it as generated).

Replaying (``replay(path, base_url, admin_token)``): every recorded request is sent, in order, to a freshly started
server, and each answer is compared with the recorded one. Status, Content-Type and the listed headers must be equal;
bodies are compared as raw text, byte for byte (key order and spacing count), after these normalisations, and only
these, each of a value that is volatile by design:

1. API keys (``csk_…``): a response that hands out keys (``POST /_sim/accounts``, ``…/keys``, ``/_sim/fleet``) is
   paired, key by key in order of appearance, with the keys the replay server handed out in the same exchange; later
   requests' Authorization headers and bodies carry the replay server's key, and replay answers are compared with the
   recorded key put back in place. (Keys are derived from the seed today, but a key is a credential, not content: a
   server may legitimately change how it derives them.)
2. Webhook secrets (``whsec_…``): paired and substituted the same way (a secret, like a key).
3. HMAC signatures (``t=<unix>,v1=<hex>``, the ``Carriersim-Signature`` scheme): replaced by a placeholder. They are
   computed over the wall clock; they travel in webhook deliveries, which this corpus does not see, so the rule is a
   safeguard that does not fire today.
4. Wall-clock timestamps: the ``created`` field of snapshot views (``/_sim/snapshots…``), the real time a snapshot
   was taken. Without ``--db`` no snapshot exists, so this too is a safeguard.
5. Webhook delivery state in ``GET /v1/webhooks``: the fields ``delivered``, ``failures``, ``cursor`` and
   ``last_error`` of each webhook. Deliveries run in the background, on real time with exponential backoff (0.5 s,
   1 s, 2 s …), so how many attempts have failed, the error text, and how far a worker has moved its cursor when the
   listing is read depend on timing, not on the requests. (``POST /v1/webhooks`` answers a new subscription's state
   before any delivery: compared exactly.)
6. The admin token, when a replay is asked to use another one than the recorded ``corpus-admin``: substituted in the
   Authorization header of requests (not a response normalisation).

Nothing else is normalised: multipart boundaries and scenario-generated Idempotency-Keys are random at recording
time, but they are part of the recorded request and the replay sends them unchanged.

Command line: ``python tests/corpus/recorder.py record tests/corpus/native.jsonl.gz`` and
``python tests/corpus/recorder.py replay tests/corpus/native.jsonl.gz`` (starts its own server, prints mismatches,
exits 1 if there are any).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN_TOKEN = "corpus-admin"
SERVER_ARGS = ["serve", "--port", "0", "--seed", "1", "--admin-token", ADMIN_TOKEN]
RESET = {"seed": 1, "start": "2027-01-01T00:00:00+08:00"}
HOST = "carriersim.test"  # the Host header of every forwarded request: the same at recording and at replay

REQUEST_HEADERS = ("Authorization", "Idempotency-Key", "Content-Type")
RESPONSE_HEADERS = ("Content-Type", "Retry-After", "WWW-Authenticate", "Idempotent-Replayed", "Allow", "Location")

POSITIVE_EXAMPLES = 6
NEGATIVE_EXAMPLES = 4
MAX_FLEET = 50
CLOSED_PORT = "127.0.0.1:9"
DOC = "91350100M000100Y43"  # the world's account's unified social credit code (CAN-2 document)

KEY_RE = re.compile(r"csk_[A-Za-z0-9_-]+")
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9_-]+")
SIGNATURE_RE = re.compile(r"t=\d+,v1=[0-9a-f]{64}")
SNAPSHOT_CREATED_RE = re.compile(r'"created": ("(?:[^"\\]|\\.)*"|[0-9.eE+-]+)')
WEBHOOK_STATE_RE = re.compile(r'"(delivered|failures|cursor)": -?\d+')
WEBHOOK_ERROR_RE = re.compile(r', "last_error": "(?:[^"\\]|\\.)*"')


# ------------------------------------------------------------------------------------------------ the server

class Server:
    """``carriersim serve`` as a subprocess; ``url`` once it logged its ready line."""

    def __init__(self, args: list[str] | None = None, timeout: float = 60.0) -> None:
        self.args = list(args or SERVER_ARGS)
        self.timeout = timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def __enter__(self) -> "Server":
        exe = BIN / ("carriersim.exe" if os.name == "nt" else "carriersim")
        self.proc = subprocess.Popen([str(exe), *self.args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT)
        found = threading.Event()

        def drain(stream: Any) -> None:
            for line in stream:
                self.output.append(line.rstrip("\n"))
                match = re.search(r"carriersim ready at (http://\S+)", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()  # end of output: the process is gone

        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=drain, args=(stream,), daemon=True).start()
        if not found.wait(self.timeout) or not self.url:
            self.__exit__(None, None, None)
            raise RuntimeError("carriersim serve did not log its ready line:\n" + "\n".join(self.output[-20:]))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


# ------------------------------------------------------------------------------------------------ transport

class Upstream:
    """One keep-alive HTTP/1.1 connection to the server; sends exactly the headers the corpus keeps."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str],
                                                                                             list[tuple[str, str]],
                                                                                             bytes]:
        """Returns status, the kept response headers, all response headers, body."""
        for attempt in (1, 2):  # a keep-alive connection the server closed is retried once on a new one
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            try:
                self.conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                self.conn.putheader("Host", HOST)
                for name, value in headers.items():
                    self.conn.putheader(name, value)
                if body or method in ("POST", "PUT", "PATCH"):
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body if body else None)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        all_headers = resp.getheaders()
        kept = {}
        for name in RESPONSE_HEADERS:
            value = resp.getheader(name)
            if value is not None:
                kept[name] = value
        return resp.status, kept, all_headers, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _kept_request_headers(get: Any) -> dict[str, str]:
    return {name: get(name) for name in REQUEST_HEADERS if get(name) is not None}


def _body_field(data: bytes) -> dict[str, str]:
    try:
        return {"body": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(data).decode()}


def _body_of(response: dict[str, Any]) -> bytes:
    if "body_b64" in response:
        return base64.b64decode(response["body_b64"])
    return response.get("body", "").encode("utf-8")


# ------------------------------------------------------------------------------------------------ the proxy

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


class RecordingProxy:
    """A reverse proxy on 127.0.0.1 (free port) in its own thread and loop; ``exchanges`` in order."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream = Upstream(upstream_url)
        self.exchanges: list[dict[str, Any]] = []
        self.source = "?"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="corpus-proxy", daemon=True)
        self.url = ""
        self._lock = threading.Lock()
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)

    def __enter__(self) -> "RecordingProxy":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.upstream.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = _kept_request_headers(request.headers.get)
        path = request.raw_path
        try:
            # blocking on purpose: the traffic is sequential, and this keeps one order of exchanges
            with self._lock:
                status, kept, all_headers, data = self.upstream.send(request.method, path, headers, body)
                self.exchanges.append({
                    "source": self.source,
                    "request": {"method": request.method, "path": path, "headers": headers,
                                "body_b64": base64.b64encode(body).decode()},
                    "response": {"status": status, "headers": kept, **_body_field(data)},
                })
        except Exception as exc:  # a request the upstream connection cannot carry: not part of the corpus
            return web.Response(status=502, text=f"corpus proxy: {type(exc).__name__}: {exc}")
        out = [(k, v) for k, v in all_headers if k.lower() not in HOP_BY_HOP]
        response = web.Response(status=status, body=data if data else None)
        response.headers.clear()
        for k, v in out:
            response.headers.add(k, v)
        return response

    def count(self, source: str) -> int:
        return sum(1 for e in self.exchanges if e["source"] == source)


# ------------------------------------------------------------------------------------------------ sources

def _reset(session: requests.Session, url: str) -> None:
    r = session.post(f"{url}/_sim/reset", json=RESET, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                     timeout=60)
    assert r.status_code == 200, r.text


def source_readme(url: str) -> None:
    """README "The HTTP API": the curl walk-through, sent as curl sends it (``-d`` is form-urlencoded)."""
    s = requests.Session()
    _reset(s, url)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def post(path: str, body: str, auth: dict[str, str]) -> requests.Response:
        return s.post(url + path, data=body.encode(), headers={**auth, **form}, timeout=60)

    r = post("/_sim/accounts", '{"name": "Acme IoT", "verified": true}', admin)
    key = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = post("/v1/cards", '{"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20", "auto_renew": false}', key)
    iccid = r.json()["iccid"]
    post(f"/v1/cards/{iccid}/activation", '{"imei": "490154203237518"}', key)
    post("/_sim/clock/advance", '{"by": "1 month"}', admin)
    s.get(f"{url}/v1/cards/{iccid}", headers=key, timeout=60)
    post("/_sim/clock/advance", '{"by": "3 months"}', admin)
    s.get(f"{url}/v1/cards/{iccid}/history", headers=key, timeout=60)
    s.close()


def source_scenarios(url: str) -> None:
    s = requests.Session()
    _reset(s, url)
    s.close()
    exe = BIN / "carriersim"
    done = subprocess.run([str(exe), "run", "scenarios/library", "--target", url, "--admin-token", ADMIN_TOKEN],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"carriersim run exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _luhn(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_imei(serial: int) -> str:
    payload = "86" + str(serial).zfill(12)
    return payload + _luhn(payload)


def _csv(operation: str, iccids: list[str]) -> bytes:
    """The operation's CSV batch template (UTF-8 BOM, CRLF) with one ICCID a row."""
    columns = {"activate": "iccid,imei", "set_auto_renew": "iccid,enabled"}.get(operation, "iccid")
    return ("\ufeff" + columns + "\r\n" + "".join(f"{i}\r\n" for i in iccids)).encode()


class World:
    """The same world on a freshly reset server, built through the API: ids that generated cases can name."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.key = ""
        self.serial = 0
        self.plans: dict[str, list[str]] = {}
        self.addons: list[str] = []
        self.known: dict[str, list[str]] = {}

    def call(self, method: str, path: str, status: int, *, admin: bool = False, **kw: Any) -> Any:
        headers = self.admin if admin else {"Authorization": f"Bearer {self.key}"}
        r = self.session.request(method, self.url + path, headers=headers, timeout=60, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def card(self, carrier: str, plan: str, *then: tuple[str, str, dict | None], activate: bool = True,
             **body: Any) -> str:
        iccid = self.call("POST", "/v1/cards", 201, json={"carrier": carrier, "plan": plan, "payment": "200",
                                                          **body})["iccid"]
        if activate:
            self.serial += 1
            self.call("POST", f"/v1/cards/{iccid}/activation", 200, json={"imei": make_imei(self.serial)})
        for method, suffix, payload in then:
            admin = suffix.startswith("/_sim")
            path = suffix.replace("{iccid}", iccid) if admin else f"/v1/cards/{iccid}{suffix}"
            self.call(method, path, 200, admin=admin, json=payload)
        return iccid

    def build(self) -> "World":
        self.serial, self.plans, self.addons = 0, {}, []
        self.call("POST", "/_sim/reset", 200, admin=True, json=RESET)
        made = self.call("POST", "/_sim/accounts", 201, admin=True,
                         json={"name": "杭州测试科技有限公司", "verified": True, "id_number": DOC})
        self.key = made["api_key"]
        other = self.call("POST", "/_sim/accounts", 201, admin=True, json={"name": "Other Co", "verified": True})
        carriers = [c["id"] for c in self.call("GET", "/v1/carriers", 200)["items"]]
        for carrier in carriers:
            self.plans[carrier] = [p["code"] for p in self.call("GET", f"/v1/carriers/{carrier}/plans", 200)["items"]]
            self.addons += [a["code"] for a in self.call("GET", f"/v1/carriers/{carrier}/addons", 200)["items"]]
        usage = "/_sim/cards/{iccid}/usage"
        cards = [
            self.card("cmcc", "CMCC-M100", activate=False),                                 # ready
            self.card("cmcc", "CMCC-M100"),                                                 # active
            self.card("cmcc", "CMCC-Q3G"),                                                  # term quota
            self.card("cucc", "CUCC-M50"),
            self.card("ctcc", "CTCC-M20"),
            self.card("cmcc", "CMCC-M30", ("POST", usage, {"mb": 30})),                     # quota
            self.card("cmcc", "CMCC-M100", ("POST", usage, {"mb": 1, "region": "CN-XJ"})),  # region
            self.card("cmcc", "CMCC-M100", ("POST", "/suspension", None)),                 # manual stop
            self.card("cmcc", "CMCC-M100", ("POST", "/loss-report", None)),                # lost
            self.card("cmcc", "CMCC-M100", ("POST", "/auto-renew", {"enabled": False}),
                      ("DELETE", "/device", None)),                                         # cancellable
            self.card("ctcc", "CTCC-M20", testing=True, activate=False),                    # testing
        ]
        pool = self.call("POST", "/v1/pools", 201, json={"carrier": "cmcc", "name": "fleet"})["id"]
        self.call("POST", f"/v1/pools/{pool}/members", 200, json={"iccid": cards[1]})
        job = self.call("POST", "/v1/batch-jobs", 201, files={
            "operation": (None, "suspend"), "file": ("cards.csv", _csv("suspend", [cards[2]]), "text/csv")})["id"]
        hook = self.call("POST", "/v1/webhooks", 201, json={"url": f"http://{CLOSED_PORT}/hook"})["id"]
        mine, self.key = self.key, other["api_key"]  # another account's card: must look like a missing one
        foreign = self.card("cmcc", "CMCC-M100")
        self.key = mine
        self.known = {"iccid": [*cards, foreign], "carrier": carriers, "pool_id": [pool], "job_id": [job],
                      "webhook_id": [hook], "account_id": [made["account"]["id"], other["account"]["id"]],
                      "name": ["nightly", "missing"]}
        return self

    def bodies(self, op_id: str) -> list[Any]:
        """Meaningful bodies per operation (cf. tests/api/test_schemathesis.py)."""
        cards = self.known["iccid"]
        plans = [(c, p) for c, codes in self.plans.items() for p in codes]
        imeis = [make_imei(900 + n) for n in range(4)]
        return {
            "openCard": [{"carrier": c, "plan": p, "payment": "200"} for c, p in plans[:6]],
            "changePlan": [{"plan": p} for _, p in plans[:6]],
            "buyAddOn": [{"addon": a} for a in self.addons[:6]],
            "addPoolMember": [{"iccid": i} for i in cards[:6]],
            "createPool": [{"carrier": c, "name": "p"} for c in self.plans],
            "requestCancellation": [{"document": DOC}],
            "requestRefund": [{"kind": "unused_months"}, {"kind": "balance"}],
            "topUp": [{"amount": "50"}, {"amount": 0.01}],
            "reportUsage": [{"mb": 5}, {"kb": 1}, {"mb": 200}, {"mb": 1, "region": "CN-XJ"},
                            *({"mb": 1, "imei": i} for i in imeis)],
            "activateCard": [{}, *({"imei": i} for i in imeis)],
            "rebindDevice": [{"imei": i} for i in imeis],
            "swapCard": [{}],
            "verifyIdentity": [{"name": "杭州测试科技有限公司", "id_number": DOC}],
            "createFault": [{"route": r, "error_rate": 0.5, "seed": 1} for r in ("/v1/cards*", "/v1/account")],
            "advanceClock": [{"by": d} for d in ("3 days", "1 month", "P1M", "PT12H")],
            "startMaintenance": [{"duration": "2 hours"}, {"duration": "1 day", "stop_cards": False}],
            "createBatchJob": [{"operation": op, "file": _csv(op, cards[:4])} for op in
                               ("suspend", "resume", "cancel")],
            "setClockMode": [{"mode": "frozen"}],
            "resetWorld": [RESET],
        }.get(op_id, [])


# The world registry answers fresh random ids and tokens and wall-clock times, which no replay can repeat; the
# corpus is about the default world's answers (tests/api/test_worlds*.py cover the registry).
WORLD_OPERATIONS = ("createWorld", "listWorlds", "getWorld", "deleteWorld")
STREAMS = ("streamEvents",)


def _contained(op_id: str, body: Any) -> Any:
    """Keep the run local and bounded; None: the case is left out (it could not replay the same)."""
    if not isinstance(body, dict):
        return body
    if op_id == "setClockMode" and body.get("mode") == "accelerated":
        return None
    if op_id == "createWebhook" and isinstance(body.get("url"), str):
        try:
            parts = urlsplit(body["url"])
            if parts.netloc:
                return {**body, "url": parts._replace(netloc=CLOSED_PORT).geturl()}
        except ValueError:
            pass
    if op_id == "generateFleet":
        return {**body, **{k: min(v, MAX_FLEET) for k, v in body.items()
                           if k in ("accounts", "cards") and isinstance(v, (int, float)) and not isinstance(v, bool)}}
    return body


def _idempotency_key(case: Any) -> str | None:
    key = (case.headers or {}).get("Idempotency-Key")
    if not isinstance(key, str) or not 0 < len(key) <= 255:
        return None
    if not (key.isascii() and key.isprintable()):
        key = key.encode("utf-8", "surrogatepass").hex()
    digest = hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).hexdigest()[:12]
    return f"{digest}-{key}"[:255]


def _generate(operation: Any, mode: Any, count: int) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    cases: list[Any] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def collect(case: Any) -> None:
        if len(cases) < count:
            cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # e.g. no negative data for an operation without parameters or body
        pass
    return cases


def source_schemathesis(url: str) -> dict[str, int]:
    import schemathesis
    from schemathesis.generation.modes import GenerationMode

    session = requests.Session()
    _reset(session, url)
    document = session.get(f"{url}/openapi.json", timeout=60).json()
    config = schemathesis.Config.from_dict({"seed": 1, "generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_dict(document, config=config)
    world = World(url)
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId", operation.label)
        if op_id in WORLD_OPERATIONS or op_id in STREAMS:  # random ids and tokens; a stream stays open
            continue
        cases = [(c, True) for c in _generate(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)]
        cases += [(c, False) for c in _generate(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)]
        world.build()
        meaningful = world.bodies(op_id)
        n = 0
        for j, (case, positive) in enumerate(cases):
            if j % 2 == 1 and case.path_parameters:
                case.path_parameters = {
                    name: (world.known[name][(j // 2) % len(world.known[name])] if name in world.known else value)
                    for name, value in case.path_parameters.items()}
            if positive and j % 3 == 1 and meaningful:
                case.body = meaningful[(j // 3) % len(meaningful)]
            body = _contained(op_id, case.body) if not _is_unset(case.body) else case.body
            if body is None:
                continue
            if body is not case.body:
                case.body = body
            token = ADMIN_TOKEN if operation.path.startswith("/_sim") else world.key
            headers = {"Authorization": f"Bearer {token}"}
            idem = _idempotency_key(case)
            if idem is not None:
                headers["Idempotency-Key"] = idem
            # the first case is also sent without credentials and with the other kind of credential (401s)
            wrong = world.key if operation.path.startswith("/_sim") else ADMIN_TOKEN
            variants = [headers]
            if n == 0:
                variants += [{k: v for k, v in headers.items() if k != "Authorization"},
                             {**headers, "Authorization": f"Bearer {wrong}"}]
            for variant in variants:
                try:
                    kwargs = case.as_transport_kwargs(base_url=url, headers=variant)
                    kwargs.pop("auth", None)
                    if "Authorization" not in variant:
                        kwargs["headers"].pop("Authorization", None)
                    session.request(**kwargs, timeout=120)
                    n += 1
                except (requests.RequestException, ValueError, TypeError, UnicodeError) as exc:
                    print(f"schemathesis case of {op_id} not sent: {type(exc).__name__}: {exc}"[:300],
                          file=sys.stderr)
        sent[op_id] = n
    # routes and methods the document does not have (404, 405), with and without credentials
    world.build()
    for method, path, token in (("GET", "/v1/unknown", world.key), ("PUT", "/v1/cards", world.key),
                                ("PATCH", "/v1/account", world.key), ("GET", "/v1/cards/", world.key),
                                ("DELETE", "/v1/carriers", None), ("GET", "/_sim/unknown", ADMIN_TOKEN),
                                ("PUT", "/_sim/clock", ADMIN_TOKEN), ("POST", "/openapi.json", None),
                                ("GET", "/", None)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        session.request(method, url + path, headers=headers, timeout=60)
    world.session.close()
    session.close()
    return sent


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


# ------------------------------------------------------------------------------------------------ record

def read_corpus(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[0]["meta"], lines[1:]


def record(path: str | Path) -> dict[str, Any]:
    started = time.perf_counter()
    with Server() as server, RecordingProxy(server.url) as proxy:
        sources: dict[str, int] = {}
        operations: dict[str, int] = {}
        for name, run in (("readme", source_readme), ("scenarios", source_scenarios),
                          ("schemathesis", source_schemathesis)):
            proxy.source = name
            got = run(proxy.url)
            if name == "schemathesis":
                operations = got
            sources[name] = proxy.count(name)
            print(f"{name}: {sources[name]} exchanges", file=sys.stderr)
        exchanges = list(proxy.exchanges)
    for i, exchange in enumerate(exchanges):
        exchange["i"] = i
    meta = {"server": ["carriersim", *SERVER_ARGS], "reset": RESET, "sources": sources,
            "exchanges": len(exchanges), "schemathesis": {"positive": POSITIVE_EXAMPLES,
                                                          "negative": NEGATIVE_EXAMPLES,
                                                          "cases_per_operation": operations},
            "recorded_in_s": round(time.perf_counter() - started, 1)}
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write((json.dumps({"meta": meta}, ensure_ascii=False) + "\n").encode())
            for exchange in exchanges:
                gz.write((json.dumps(exchange, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    return meta


# ------------------------------------------------------------------------------------------------ replay

def _normalise(method: str, path: str, text: str) -> str:
    """Rules 3-5 of the module docstring (1, 2 and 6 are substitutions done in ``replay``)."""
    text = SIGNATURE_RE.sub("t=<t>,v1=<signature>", text)
    route = path.split("?", 1)[0]
    if route.startswith("/_sim/snapshots"):
        text = SNAPSHOT_CREATED_RE.sub('"created": "<wall-clock>"', text)
    if method == "GET" and route == "/v1/webhooks":
        text = WEBHOOK_STATE_RE.sub(lambda m: f'"{m.group(1)}": "<delivery-state>"', text)
        text = WEBHOOK_ERROR_RE.sub("", text)
    return text


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 30)
    return f"at char {i}: recorded {a[lo:i + 50]!r} / replayed {b[lo:i + 50]!r}"


def replay(path: str | Path, base_url: str, admin_token: str = ADMIN_TOKEN) -> list[str]:
    """Send every recorded request, in order, to the server at ``base_url``; the mismatches, human-readable."""
    _, exchanges = read_corpus(path)
    upstream = Upstream(base_url)
    substitute: dict[str, str] = {}  # recorded value -> replay value (keys, secrets, admin token)
    back: dict[str, str] = {}  # replay value -> recorded value
    if admin_token != ADMIN_TOKEN:
        substitute[f"Bearer {ADMIN_TOKEN}"] = f"Bearer {admin_token}"
    mismatches: list[str] = []
    try:
        for exchange in exchanges:
            req, rec = exchange["request"], exchange["response"]
            headers = dict(req["headers"])
            body = base64.b64decode(req["body_b64"])
            for old, new in substitute.items():
                if "Authorization" in headers:
                    headers["Authorization"] = headers["Authorization"].replace(old, new)
                if old.encode() in body:
                    body = body.replace(old.encode(), new.encode())
            where = f"#{exchange['i']} {req['method']} {_short(req['path'], 100)}"
            try:
                status, kept, _, data = upstream.send(req["method"], req["path"], headers, body)
            except Exception as exc:
                mismatches.append(f"{where}: no answer ({type(exc).__name__}: {exc})"[:400])
                continue
            problems = []
            if status != rec["status"]:
                problems.append(f"status {rec['status']} recorded, {status} replayed")
            if kept != rec["headers"]:
                problems.append(f"headers {rec['headers']} recorded, {kept} replayed")
            recorded = _body_of(rec)
            try:
                recorded_text, replayed_text = recorded.decode("utf-8"), data.decode("utf-8")
            except UnicodeDecodeError:
                if recorded != data:
                    problems.append(f"binary body differs ({len(recorded)} bytes recorded, {len(data)} replayed)")
            else:
                # volatile values handed out in this exchange: pair them in order of appearance
                for pattern in (KEY_RE, SECRET_RE):
                    was, now = pattern.findall(recorded_text), pattern.findall(replayed_text)
                    new_was = [v for v in dict.fromkeys(was) if v not in substitute]
                    new_now = [v for v in dict.fromkeys(now) if v not in back]
                    for old, new in zip(new_was, new_now):
                        substitute[old], back[new] = new, old
                if back:
                    replayed_text = pattern_sub(replayed_text, back)
                a = _normalise(req["method"], req["path"], recorded_text)
                b = _normalise(req["method"], req["path"], replayed_text)
                if a != b:
                    problems.append("body " + _first_difference(a, b))
            if problems:
                mismatches.append(f"{where}: " + "; ".join(problems)[:400])
    finally:
        upstream.close()
    return mismatches


_TOKEN_RE = re.compile(r"(?:csk|whsec)_[A-Za-z0-9_-]+")


def pattern_sub(text: str, back: dict[str, str]) -> str:
    return _TOKEN_RE.sub(lambda m: back.get(m.group(0), m.group(0)), text)


def replay_fresh(path: str | Path) -> list[str]:
    """Start a fresh server the way the corpus was recorded and replay the corpus against it."""
    with Server() as server:
        return replay(path, server.url, ADMIN_TOKEN)


# ------------------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recorder.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "replay"):
        p = sub.add_parser(name)
        p.add_argument("corpus", nargs="?", default=str(Path(__file__).with_name("native.jsonl.gz")))
    args = parser.parse_args(argv)
    if args.command == "record":
        meta = record(args.corpus)
        size = Path(args.corpus).stat().st_size
        print(json.dumps({**meta, "bytes": size}, ensure_ascii=False))
        return 0
    started = time.perf_counter()
    mismatches = replay_fresh(args.corpus)
    for line in mismatches:
        print(line)
    _, exchanges = read_corpus(args.corpus)
    print(f"{len(exchanges)} exchanges replayed in {time.perf_counter() - started:.1f} s: "
          f"{len(mismatches)} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
