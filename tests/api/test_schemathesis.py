"""Schemathesis against the live server: every operation of the OpenAPI document, stateless and along its links.

A real aiohttp server listens on 127.0.0.1 (a free port) in a background thread with its own event loop. The
document under test is the one the code generates (``openapi()``), and the fixture first checks that the server
serves exactly it at ``/openapi.json``. A world is set up through the API itself (``/_sim`` and ``/v1``): an
account and its key, cards in several states on the three carriers, a pool, a batch job, a webhook, and another
account's card. Schemathesis then generates requests (positive and negative), sends them over the socket with the
right credentials per operation (the account key for ``/v1``, the admin token for ``/_sim``) and checks every
response: no 5xx, a documented status code, content type and headers, and a body matching the documented schema.

- ``test_stateless``: every operation (coverage and fuzzing phases, positive and negative data), each against a
  fresh server and world, so an operation that changes the whole world — reset, faults, clock mode, maintenance —
  cannot spoil the others' cases.
- ``test_stateful``: scenarios that follow the document's links (openCard → activate → suspend → …, swapCard →
  the new card, createPool → addPoolMember, createBatchJob → getBatchJob, createWebhook → deleteWebhook …), each
  scenario from the same world, reset and rebuilt through the API.

Generated identifiers are random strings that name nothing, so hooks swap in, half of the time, ids of the world
(cards, pools, jobs, carriers, plans) — otherwise nearly every card operation would stop at 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.spec import OPERATIONS, openapi
from carriersim.simulator.identifiers import make_imei

from .apihelp import csv_upload

ADMIN = "admin-token"
DOC = "91350100M000100Y43"  # the account's unified social credit code (CAN-2 document)
IMEIS = [make_imei(900 + n) for n in range(8)]  # for generated bodies: valid, and the same on every run
START = "2027-01-01T00:00:00+08:00"
SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance")
CONFIG = schemathesis.Config.from_dict({
    "seed": 1,
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS},
               # 503 is the simulated carrier maintenance (MAINT-1), documented where it can happen;
               # `only_maintenance_503` below holds it to exactly that.
               "not_a_server_error": {"enabled": True, "expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
    # Credentials are not fuzzed: each case gets the real one for its operation (see `headers_for`).
    "generation": {"with-security-parameters": False},
    # The coverage phase sends each schema boundary as is, hooks unapplied: for generateFleet that is a fleet of
    # 200 000 cards, a ~20 s load test (the request holds the event loop), not a conformance case. The fuzzing phase
    # still covers it, with fleets capped by the `contained` hook below.
    "operations": [{"include-operation-id": "generateFleet", "phases": {"coverage": {"enabled": False}}}],
    # Stateful scenarios follow the links the document declares (spec.py's `links`), not ones guessed from names.
    "phases": {"stateful": {"inference": {"algorithms": []}}},
})
schema = schemathesis.openapi.from_dict(openapi(), config=CONFIG)
OP_ID = {f"{op.method} {op.path}": op.id for op in OPERATIONS}


# ------------------------------------------------------------------------------------------------ live server

class LiveServer:
    """The app on a real socket, served by its own event loop in a daemon thread."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="carriersim-live", daemon=True)
        self.runner = web.AppRunner(app)
        self.url = ""
        self.world: World | None = None

    def __enter__(self) -> "LiveServer":
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
        if self.world is not None:
            self.world.session.close()
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class World:
    """What the API set-up made; the hooks draw identifiers from here."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = {"Authorization": f"Bearer {ADMIN}"}
        self.session = requests.Session()
        self.key = ""
        self.plans: dict[str, list[str]] = {}
        self.addons: list[str] = []
        self.known: dict[str, list[str]] = {}
        self.serials = itertools.count(1)

    def call(self, method: str, path: str, status: int, *, admin: bool = False, **kw: Any) -> Any:
        headers = self.admin if admin else {"Authorization": f"Bearer {self.key}"}
        r = self.session.request(method, self.url + path, headers=headers, timeout=10, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def card(self, carrier: str, plan: str, *then: tuple[str, str, dict | None], activate: bool = True,
             **body: Any) -> str:
        iccid = self.call("POST", "/v1/cards", 201, json={"carrier": carrier, "plan": plan, "payment": "200",
                                                          **body})["iccid"]
        if activate:
            self.call("POST", f"/v1/cards/{iccid}/activation", 200, json={"imei": make_imei(next(self.serials))})
        for method, suffix, payload in then:
            admin = suffix.startswith("/_sim")
            path = suffix.replace("{iccid}", iccid) if admin else f"/v1/cards/{iccid}{suffix}"
            self.call(method, path, 200, admin=admin, json=payload)
        return iccid

    def build(self) -> "World":
        """The same world every time on a fresh (or reset) server: same ids, same states."""
        self.serials = itertools.count(1)
        self.plans, self.addons = {}, []
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
            self.card("cmcc", "CMCC-M100", activate=False),                            # ready
            self.card("cmcc", "CMCC-M100"),                                            # active
            self.card("cmcc", "CMCC-Q3G"),                                             # active, term quota
            self.card("cucc", "CUCC-M50"),
            self.card("ctcc", "CTCC-M20"),
            self.card("cmcc", "CMCC-M30", ("POST", usage, {"mb": 30})),                # quota
            self.card("cmcc", "CMCC-M100", ("POST", usage, {"mb": 1, "region": "CN-XJ"})),  # region
            self.card("cmcc", "CMCC-M100", ("POST", "/suspension", None)),            # manual stop
            self.card("cmcc", "CMCC-M100", ("POST", "/loss-report", None)),           # lost
            self.card("cmcc", "CMCC-M100", ("POST", "/auto-renew", {"enabled": False}),
                      ("DELETE", "/device", None)),                                    # cancellable (CAN-1)
            self.card("cmcc", "CMCC-M100", auto_suspend=False, activate=True),
            self.card("ctcc", "CTCC-M20", testing=True, activate=False),               # testing
        ]
        pool = self.call("POST", "/v1/pools", 201, json={"carrier": "cmcc", "name": "fleet"})["id"]
        self.call("POST", f"/v1/pools/{pool}/members", 200, json={"iccid": cards[1]})
        job = self.call("POST", "/v1/batch-jobs", 201, files=_batch_form("suspend", [cards[2]]))["id"]
        hook = self.call("POST", "/v1/webhooks", 201, json={"url": "http://127.0.0.1:9/hook"})["id"]
        mine, self.key = self.key, other["api_key"]  # the other account's card: PLAN-3, must look like a missing one
        foreign = self.card("cmcc", "CMCC-M100")
        self.key = mine
        self.known = {"iccid": [*cards, foreign], "carrier": carriers, "pool_id": [pool], "job_id": [job],
                      "webhook_id": [hook], "account_id": [made["account"]["id"], other["account"]["id"]]}
        return self


def _batch_form(operation: str, iccids: list[str]) -> dict[str, Any]:
    csv = csv_upload(operation, [[i] for i in iccids])
    return {"operation": (None, operation), "file": ("cards.csv", csv, "text/csv")}


CURRENT: list[World] = []  # the world the running test talks to (hooks read it while generating)


def _live_server() -> Any:
    server = LiveServer(create_app(Simulation(seed=1, start=START), admin_token=ADMIN))
    server.__enter__()
    try:
        assert requests.get(f"{server.url}/openapi.json", timeout=10).json() == openapi()
        server.world = World(server.url).build()
        CURRENT[:] = [server.world]
    except BaseException:
        server.__exit__(None, None, None)
        raise
    return server


@pytest.fixture
def live():
    server = _live_server()
    yield server
    server.__exit__(None, None, None)


def headers_for(case: Any, world: World) -> dict[str, str]:
    """The credentials each operation's security requirement names (admin token under /_sim, else the account
    key), and the generated Idempotency-Key made specific to the request. Generated keys are short and repeat
    ("0" on every coverage case), so nearly every POST would otherwise answer 409 idempotency_key_reused and never
    reach its handler; with the request's digest in front, a repeated request still replays and a new one runs."""
    token = ADMIN if case.operation.path.startswith("/_sim") else world.key
    headers = {"Authorization": f"Bearer {token}"}
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key) <= 255:
        digest = hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).hexdigest()[:12]
        headers["Idempotency-Key"] = f"{digest}-{key}"[:255]
    return headers


# ------------------------------------------------------------------------------- steering generated data

@schema.hook("flatmap_path_parameters")
def known_ids(context: Any, params: Any) -> Any:
    """Half of the time, path parameters name something that exists (a card, pool, job, carrier …)."""
    if not CURRENT or not isinstance(params, dict):
        return st.just(params)
    known = CURRENT[0].known
    options = [{**params, name: value} for name in params for value in known.get(name, ())]
    return st.one_of(st.just(params), st.sampled_from(options)) if options else st.just(params)


def _bodies(world: World) -> dict[str, Callable[[dict], list[dict]]]:
    """Per operation: meaningful bodies built from a generated one (which stays one of the choices)."""
    cards = world.known["iccid"]
    plans = [(c, p) for c, codes in world.plans.items() for p in codes]
    return {
        "openCard": lambda b: [{**{k: v for k, v in b.items() if k != "iccid"}, "carrier": c, "plan": p}
                               for c, p in plans] + [{"carrier": c, "plan": p} for c, p in plans],
        "changePlan": lambda b: [{"plan": p} for _, p in plans],
        "buyAddOn": lambda b: [{"addon": a} for a in world.addons],
        "addPoolMember": lambda b: [{"iccid": i} for i in cards],
        "createPool": lambda b: [{**b, "carrier": c} for c in world.plans],
        "requestCancellation": lambda b: [{"document": DOC}],
        "requestRefund": lambda b: [{**b, "to_iccid": i} for i in cards[:3]] + [
            {"kind": k} for k in ("unused_months", "balance")],
        "topUp": lambda b: [{"amount": "50"}, {"amount": 0.01}],
        "reportUsage": lambda b: [{"mb": 5}, {"kb": 1}, {"mb": 200}, {"mb": 1, "region": "CN-XJ"},
                                  *({"mb": 1, "imei": i} for i in IMEIS)],
        "activateCard": lambda b: [{}, *({"imei": i} for i in IMEIS)],
        "rebindDevice": lambda b: [{"imei": i} for i in IMEIS],
        "swapCard": lambda b: [{}],
        "verifyIdentity": lambda b: [{"name": "杭州测试科技有限公司", "id_number": DOC}],
        "createFault": lambda b: [{**b, "route": r} for r in ("/v1/cards*", "/v1/cards/{iccid}", "/v1/account")],
        "advanceClock": lambda b: [{"by": d} for d in ("3 days", "1 month", "P1M", "PT12H", "400 days")],
        "startMaintenance": lambda b: [{"duration": "2 hours"}, {"duration": "1 day", "stop_cards": False}],
        "createBatchJob": lambda b: [_generated_form(op, cards) for op in
                                     ("suspend", "resume", "activate", "set_auto_renew", "cancel")],
    }


def _generated_form(operation: str, cards: list[str]) -> dict[str, Any]:
    csv = csv_upload(operation, [[i] for i in cards[:4]])
    return {"operation": operation, "file": csv}


@schema.hook("flatmap_body")
def meaningful_bodies(context: Any, body: Any) -> Any:
    if not CURRENT or not isinstance(body, dict):
        return st.just(body)
    make = _bodies(CURRENT[0]).get(OP_ID.get(context.operation.label, ""))
    return st.one_of(st.just(body), st.sampled_from(make(body))) if make else st.just(body)


@schema.hook("map_body")
def contained(context: Any, body: Any) -> Any:
    """Keep the run local and bounded: webhooks point at a closed local port instead of whatever host was
    generated (the URL's shape is still the generated one), and fleets stay small (200 000 cards is a load test,
    ~20 s, not a conformance case)."""
    op_id = OP_ID.get(context.operation.label)
    if not isinstance(body, dict):
        return body
    if op_id == "createWebhook" and isinstance(body.get("url"), str):
        try:
            parts = urlsplit(body["url"])
            if parts.netloc:
                return {**body, "url": parts._replace(netloc="127.0.0.1:9").geturl()}
        except ValueError:
            pass
    if op_id == "generateFleet":
        return {**body, **{k: min(v, 50) for k, v in body.items()
                           if k in ("accounts", "cards") and isinstance(v, (int, float)) and not isinstance(v, bool)}}
    return body


# ---------------------------------------------------------------------------------------------- the tests

def only_maintenance_503(ctx: Any, response: Any, case: Any) -> bool | None:
    """The one 5xx the API may answer: carrier_unavailable during a maintenance window, with Retry-After."""
    if response.status_code == 503:
        body = response.json()
        assert body["code"] == "carrier_unavailable", f"503 {body['code']}: only maintenance may answer 503"
        assert int(response.headers["retry-after"][0]) >= 1, "a 503 must say when to retry"
    return None


# streamEvents is a stream of server-sent events that stays open (tests/api/test_dashboard_api.py covers it)
STREAMS = ["streamEvents"]


@schema.exclude(operation_id=STREAMS).parametrize()
@settings(max_examples=25, **SETTINGS)
def test_stateless(case: Any, live: LiveServer) -> None:
    case.call_and_validate(base_url=live.url, headers=headers_for(case, live.world),
                           additional_checks=[only_maintenance_503])


# Not in the stateful run (each is covered by test_stateless, on a server of its own): resetWorld drops the account
# and its key mid-scenario; createFault makes later /v1 steps answer the injected status (a 5xx by design);
# setClockMode "accelerated" moves time in the background, so a scenario would not replay the same; generateFleet
# only adds unrelated accounts.
NOT_STATEFUL = ["resetWorld", "createFault", "setClockMode", "generateFleet", *STREAMS]


def test_stateful(live: LiveServer) -> None:
    world = live.world
    base = schema.exclude(operation_id=NOT_STATEFUL).as_state_machine()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # Every scenario starts from the same world (reset through the API, then rebuilt): Hypothesis replays
            # scenario prefixes while it generates, and they must meet the same responses as the first time.
            world.call("POST", "/_sim/reset", 200, admin=True, json={"seed": 1, "start": START})
            world.build()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": live.url, "headers": headers_for(case, world)}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kw: Any) -> None:
            super().validate_response(response, case, [only_maintenance_503], **kw)

    Workflow.run(settings=settings(max_examples=60, stateful_step_count=10, **SETTINGS))
