"""The aiohttp application factory: the server's shared state and the APIs it mounts.

``create_app`` builds one served world (``ServerState``: the simulation, keys, webhooks, faults, the clock
driver, durability) and mounts its APIs — by default the native API and test control (``native_api``), each a
plug-in ``Api`` (``api``) whose requests all go through the same pipeline: credentials, faults, the body read once
and validated, ``Idempotency-Key``, the handler — a plain synchronous function over the engine, so each request
applies atomically — the journal, and a wake-up for the webhook workers. Nothing a client sends produces a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from ..durable.journal import Durability
from ..durable.store import Store
from ..errors import SimError
from ..operations import invoke, operation
from ..simulation import Simulation
from .clock_driver import ClockDriver
from .faults import FaultInjector
from .idempotency import IdempotencyStore
from .native_api import MAX_UPLOAD
from .problems import problem
from .recorder import Recorder, Recording, json_safe
from .spec import openapi
from .tenancy import KeyRing
from .webhooks import WebhookHub
from .world import ServerWorld
from .worlds import Worlds

if TYPE_CHECKING:
    from .api import Api

log = logging.getLogger("carriersim.http")


@dataclass
class ServerState:
    """One world: everything its handlers share. ``sim`` is replaced on reset; read it through the state every
    time. The server's default world has the id ``default`` and the server's admin token; a world made with
    ``POST /_sim/worlds`` (``worlds.Worlds``) has an id of its own, its own token (kept hashed) and an idle ttl."""

    sim: Simulation
    admin_token: str | None
    keys: KeyRing
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    faults: FaultInjector = field(default_factory=FaultInjector)
    batch_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: WebhookHub = field(init=False)
    clock: ClockDriver = field(init=False)
    durability: Durability | None = None  # with --db: the journal and snapshots
    dialects: list[str] = field(default_factory=list)  # the carrier dialects mounted (their credentials are handed out)
    id: str = "default"
    token_hash: str | None = None  # a created world's admin token, hashed (the default world: admin_token)
    ttl: float | None = None  # idle seconds (real time) before a created world is deleted; None: never
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)  # one request at a time changes it
    gone: bool = False  # deleted or expired: a request that waited for the lock must not touch it
    recorder: Recorder | None = None  # with --record DIR: the recordings of the session

    @property
    def recording(self) -> Recording | None:
        return self.recorder.current if self.recorder is not None else None

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def busy(self) -> bool:
        return self.lock.locked()


def new_state(sim: Simulation, admin_token: str | None = None, *, clock: str = "frozen", rate: float = 86400.0,
              webhook_backoff: float = 0.5, world_id: str | None = None) -> ServerState:
    """A world's state around a simulation: keys (naming ``world_id`` unless it is the default world), the
    webhook hub and the clock driver."""
    state = ServerState(sim, admin_token, KeyRing(sim.seed, world=world_id), id=world_id or "default")
    state.webhooks = WebhookHub(lambda: state.sim, backoff=webhook_backoff)
    state.webhooks.busy = state.busy
    state.clock = ClockDriver(lambda: state.sim, clock, rate, on_advance=state.webhooks.notify)
    # a deleted world's ticker must not tick between its deletion (journal closed) and its task's cancellation
    state.clock.busy = lambda: state.busy() or state.gone
    return state


@dataclass
class Ctx:
    """What a handler gets: the state, the calling account (None under /_sim), the validated body, the path
    parameters and the query; ``run`` performs an operation of the operation table and remembers the writes,
    which the dispatcher journals once the request has succeeded."""

    state: ServerState
    account: str | None
    body: dict[str, Any]
    params: dict[str, str]
    query: Any
    upload: dict[str, Any] | None = None
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    worlds: "Worlds | None" = None  # the server's registry of worlds (world management routes)
    trace: list[dict[str, Any]] | None = None  # while recording: every operation run, with its result or refusal

    @property
    def sim(self) -> Simulation:
        return self.state.sim

    @property
    def caller(self) -> str:
        """The calling account of a platform API's route (its authentication always names one)."""
        if self.account is None:
            raise AssertionError("a platform route ran without an account")
        return self.account

    def run(self, op_name: str, args: dict[str, Any]) -> Any:
        if self.trace is None:
            result = invoke(ServerWorld(self.state), op_name, self.account, args)
        else:
            try:
                result = invoke(ServerWorld(self.state), op_name, self.account, args)
            except SimError as exc:
                self.trace.append({"op": op_name, "args": json_safe(args),
                                   "refused": {"code": exc.code, "message": exc.message}})
                raise
            self.trace.append({"op": op_name, "args": json_safe(args), "result": json_safe(result)})
        if operation(op_name).write:
            self.commands.append((op_name, args))
        return result


STATE = web.AppKey("state", ServerState)  # the default world
WORLDS = web.AppKey("worlds", Worlds)  # every world, the default one included
OPENED = web.AppKey("opened", dict)  # how the world was rebuilt from --db (snapshot, entries replayed, seconds)
def attach_durability(state: ServerState, store: Store) -> Durability:
    """Journal and snapshots for a world in ``store`` (the caller opens it: ``state.durability.open()``)."""
    state.durability = Durability(store, state, lambda: ServerWorld(state))
    state.clock.on_tick = state.durability.record_tick
    return state.durability


def execute(state: ServerState, op_name: str, args: dict[str, Any], account: str | None = None) -> Any:
    """Run one operation of the operation table from inside the server (``serve --fleet``), journaled like a
    request."""
    sim_time, started = state.sim.now, time.perf_counter()
    result = invoke(ServerWorld(state), op_name, account, args)
    if state.durability is not None and operation(op_name).write:
        state.durability.record(op_name, account, args, None, time.perf_counter() - started, sim_time)
    return result


@web.middleware
async def _last_resort(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Unknown routes and methods as problems; an unexpected failure is logged and answered, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
            return problem(exc.status, code, exc.reason or "Request refused.")
        raise
    except Exception:  # pragma: no cover - the bug we hope never to have
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal_error", "The simulator failed on this request; see its log.")


def default_apis(test_control: bool = True) -> list["Api"]:
    """The APIs a server mounts unless told otherwise: the native API and, unless left out, test control."""
    from .native_api import ControlApi, NativeApi

    return [NativeApi(), *([ControlApi()] if test_control else [])]


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness in one: the world is built before the app serves, so answering means ready."""
    from carriersim import __version__

    return web.json_response({"ready": True, "version": __version__,
                              "worlds": len(list(request.app[WORLDS].listing()))})


def create_app(sim: Simulation | None = None, *, admin_token: str | None = None, test_control: bool = True,
               clock: str = "frozen", rate: float = 86400.0, webhook_backoff: float = 0.5, db: str | None = None,
               db_sync: str = "normal", apis: list["Api"] | None = None, max_worlds: int = 100,
               world_ttl: float = 3600.0, dialects: list[Any] | None = None,
               record: str | None = None) -> web.Application:
    """The carriersim HTTP application. ``test_control=False`` leaves ``/_sim`` out entirely. With ``db`` the
    world is rebuilt from that SQLite file (snapshot + journal) and every accepted command is journaled there;
    a file that is not a usable carriersim database raises ``StoreError`` before anything is written. Worlds
    made with ``POST /_sim/worlds`` (at most ``max_worlds``, each deleted after ``world_ttl`` idle seconds unless
    it asks for another ttl) keep their files beside it, in ``<db>.worlds/`` (``worlds``). ``apis`` are the APIs
    to mount (default: ``default_apis``); add a plug-in API with ``[*default_apis(), MyApi()]``.
    ``dialects``: carrier dialects to mount beside them, by name (``twilio``, ``jasper``) or as ``Api`` objects;
    without ``sim``, the world then also has the profiles they serve (``dialects.dialect_profiles``). With
    ``record`` (a directory) a recording of the session starts once the app serves; a directory that cannot be
    written raises ``RecorderError`` before anything is served."""
    from .dialects import dialect_apis, dialect_profiles

    mounted = dialect_apis(dialects or [])
    if sim is None and mounted:
        from ..profile import builtin_profiles
        sim = Simulation(profiles=builtin_profiles() + dialect_profiles(mounted))
    sim = sim or Simulation()
    app = web.Application(middlewares=[_last_resort], client_max_size=MAX_UPLOAD + 1024)
    state = new_state(sim, admin_token if test_control else None, clock=clock, rate=rate,
                      webhook_backoff=webhook_backoff)
    state.clock.on_moved = lambda before, after: state.recording.tick(state, before, after) \
        if state.recording is not None else None
    app[STATE] = state
    if record is not None:
        state.recorder = Recorder(record)
    if db is not None:
        attach_durability(state, Store(db, sync=db_sync))
        app[OPENED] = state.durability.open()  # type: ignore[union-attr]
    worlds = app[WORLDS] = Worlds(state, max_worlds=max_worlds, default_ttl=world_ttl, db=db, db_sync=db_sync,
                                  webhook_backoff=webhook_backoff)
    if db is not None:
        worlds.load()
    for api in (apis if apis is not None else default_apis(test_control)):
        api.mount(app)
    for api in mounted:
        api.prepare(state)
        state.dialects.append(api.name)
        api.mount(app)
    document = openapi()
    if not test_control:
        document["paths"] = {p: v for p, v in document["paths"].items() if not p.startswith("/_sim")}
    text = json.dumps(document, ensure_ascii=False)

    async def serve_openapi(_: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    app.router.add_get("/openapi.json", serve_openapi)
    app.router.add_get("/healthz", healthz)  # container health checks: no token, no faults, answers once serving
    from .dashboard import mount_pages

    mount_pages(app)  # the dashboard at / and the API reference at /api (static; their data is behind the token)

    async def on_startup(app: web.Application) -> None:
        worlds.start()
        if state.recorder is not None and state.recorder.current is None and record is not None:
            state.recorder.start(state)

    async def on_cleanup(app: web.Application) -> None:
        if state.recording is not None:  # a clean stop closes the running recording: it can be exported
            assert state.recorder is not None
            state.recorder.stop(state, state.recording.id)
        await worlds.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
