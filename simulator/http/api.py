"""APIs as plug-ins: what an HTTP API over the engine declares, and the one request pipeline they all share.

An ``Api`` names itself, says where it is mounted, lists its routes (each a handler over ``Ctx``), and decides how
a request is authenticated and read and how answers and refusals look on its wire. It declares which of the
server's cross-cutting behaviours apply to it: ``Idempotency-Key`` on POSTs, injected faults, a per-account rate
limit; engine refusals (maintenance, MAINT-1, included) reach it as ``SimError`` for it to render. The native API
(``/v1``) and test control (``/_sim``) are two such APIs (``native_api``); a carrier dialect is one more module.

The pipeline (``Api.mount``): authenticate (which also finds the request's world, through the server's registry
``worlds.Worlds``: an API key names its world, test control names it in the path) → rate limit → faults → read
the body → the world's lock → idempotency → validate → handler → answer → journal. One request at a time holds a
world, so a request applies atomically, and a write is durable with ``--db`` before its answer exists. A route
marked ``threaded`` (a clock advance, a fleet, a rewind: seconds of work on a big world) runs in a worker thread
while the event loop goes on serving the other worlds; every other route runs on the loop, without an await from
validation to the journal. Writes are journaled as engine operations (``Ctx.run``), so a write through any API
replays the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from aiohttp import web

from ..errors import SimError
from .problems import ProblemError
from .ratelimit import RateLimit

if TYPE_CHECKING:
    from .app import Ctx, ServerState
    from .worlds import Worlds

log = logging.getLogger("carriersim.http")
Handler = Callable[["Ctx"], Any]


@dataclass(frozen=True)
class Route:
    """One route of an API: ``path`` is an aiohttp route template; ``status`` the default success status;
    ``meta`` is the API's own description of it (the native API's ``spec.Operation``)."""

    method: str
    path: str
    name: str
    handler: Handler
    status: int = 200
    meta: Any = None
    threaded: bool = False  # long work (seconds on a big world): run in a worker thread, not on the event loop
    locks: bool = True  # holds its world while it runs (False: routes over the registry, not one world's state)


@dataclass
class Request:
    """What the pipeline read of a request: the raw body (JSON APIs) or the upload (multipart), the query."""

    raw: bytes = b""
    upload: dict[str, Any] | None = None


class Api:
    """The plug-in contract. Subclasses override what differs; the defaults are a JSON API with no auth."""

    name = "api"
    prefix = "/"
    idempotency = False  # POSTs honour Idempotency-Key (a retry answers the first response, applies nothing)
    faults = False  # faults injected with POST /_sim/faults apply to this API's routes
    rate_limit: RateLimit | None = None

    # ---------------------------------------------------------------- what it serves
    def routes(self) -> Iterable[Route]:
        return ()

    def openapi(self) -> dict[str, Any] | None:
        """The API's own OpenAPI document (served beside it), or None."""
        return None

    # ---------------------------------------------------------------- reading a request
    def authenticate(self, request: web.Request, worlds: "Worlds", route: Route) -> "tuple[ServerState, str | None]":
        """The world the request acts on and the calling account (None: test control acting on the world); raise
        ``ProblemError`` to refuse. ``worlds.for_key(key)`` finds the world and account of an API key (a key
        belongs to one world); ``worlds.get(id)`` and ``worlds.opens(world, token)`` serve a world named in the
        path. The default: the default world, no account."""
        return worlds.default, None

    async def read(self, route: Route, request: web.Request) -> Request:
        return Request(b"" if route.method == "GET" else await request.read())

    def body(self, route: Route, read: Request) -> dict[str, Any]:
        """The request's arguments from its body, validated; raise ``ProblemError`` for a bad one."""
        return {}

    def query(self, route: Route, request: web.Request) -> dict[str, Any]:
        return dict(request.query)

    # ---------------------------------------------------------------- answering
    def render(self, route: Route, status: int, data: Any) -> web.StreamResponse:
        import json

        if data is None:
            return web.Response(status=status)
        return web.Response(status=status, text=json.dumps(data, ensure_ascii=False),
                            content_type="application/json")

    def render_error(self, exc: SimError) -> web.StreamResponse:
        """An engine refusal (the operation changed nothing)."""
        return self.render_problem(ProblemError(exc.status, exc.code, exc.message))

    def rate_limited(self, wait: float) -> ProblemError:
        """The refusal of a request over the rate limit (``wait``: seconds until the next one may go)."""
        return ProblemError(429, "rate_limited", f"Too many requests; retry in {wait:.1f} s.",
                            headers={"Retry-After": str(max(1, round(wait)))})

    def render_problem(self, exc: ProblemError) -> web.StreamResponse:
        """A request this API refuses before (or instead of) the engine: credentials, body, limits."""
        return exc.response()

    # ---------------------------------------------------------------- the pipeline
    def mount(self, app: web.Application) -> None:
        for route in self.routes():
            app.router.add_route(route.method, route.path, self._dispatcher(route))
        document = self.openapi()
        if document is not None and self.prefix != "/":
            app.router.add_get(self.prefix.rstrip("/") + "/openapi.json", _serve_json(document))

    def _dispatcher(self, route: Route) -> Callable:
        from .app import WORLDS

        async def handle(request: web.Request) -> web.StreamResponse:
            worlds = request.app[WORLDS]
            try:
                state, account = self.authenticate(request, worlds, route)
                state.touch()
                if self.rate_limit is not None:
                    who = account or "admin"
                    wait = self.rate_limit.take(who if state.id == "default" else f"{state.id}/{who}")
                    if wait:
                        return self.render_problem(self.rate_limited(wait))
                if self.faults:
                    injected = await state.faults.apply(route.method, route.path)
                    if injected is not None:
                        return injected
                read = await self.read(route, request)
                idem_key = request.headers.get("Idempotency-Key") if self.idempotency and route.method == "POST" \
                    else None
                if idem_key is not None and not 0 < len(idem_key) <= 255:
                    raise ProblemError(422, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters.")
                if not route.locks:
                    if idem_key is not None:
                        return await self._idempotent(request, state, route, account, read, idem_key)
                    return await self._run(request, state, route, account, read)
                async with state.lock:
                    if state.gone:  # deleted or expired while this request waited: answer as for no such world
                        self.authenticate(request, worlds, route)
                    state.touch()
                    if idem_key is not None:
                        return await self._idempotent(request, state, route, account, read, idem_key)
                    return await self._run(request, state, route, account, read)
            except ProblemError as exc:
                return self.render_problem(exc)
            except web.HTTPRequestEntityTooLarge:
                return self.render_problem(ProblemError(413, "body_too_large", "The request body is too large."))
        handle.__name__ = route.name
        return handle

    async def _run(self, request: web.Request, state: "ServerState", route: Route, account: str | None,
                   read: Request, idem: tuple[str, str] | None = None) -> web.StreamResponse:
        if not route.threaded:
            return self.run(request, state, route, account, read, idem)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self.run, request, state, route, account, read, idem)
        finally:
            state.touch()  # a long command counts as use until it ends

    def run(self, request: web.Request, state: "ServerState", route: Route, account: str | None, read: Request,
            idem: tuple[str, str] | None = None) -> web.StreamResponse:
        """The synchronous heart of a request: validate, apply, journal, answer. No await in here, so it is
        atomic, and an accepted command is durable (with --db) before its answer exists."""
        recording = state.recording
        if recording is None or (route.method == "GET" and self.prefix == "/_sim"):
            return self._apply(request, state, route, account, read, idem, None)
        trace: list[dict[str, Any]] = []
        before = state.sim.iso(state.sim.now)
        response = self._apply(request, state, route, account, read, idem, trace)
        if state.recording is recording and not route.path.startswith("/_sim/recordings"):
            body = getattr(response, "body", None)
            try:
                answer = json.loads(body) if body and route.method != "GET" else None
            except (TypeError, ValueError):
                answer = None
            recording.request(state, self.name, route.method, request.path, account, response.status, trace,
                              answer, before)
        return response

    def _apply(self, request: web.Request, state: "ServerState", route: Route, account: str | None, read: Request,
               idem: tuple[str, str] | None, trace: list[dict[str, Any]] | None) -> web.StreamResponse:
        from .app import WORLDS, Ctx

        sim_time = state.sim.now
        ctx: Ctx | None = None
        try:
            body = self.body(route, read)
            params = {k: v for k, v in request.match_info.items() if k != "world_id"}
            ctx = Ctx(state, account, body, params, self.query(route, request), read.upload,
                      worlds=request.app[WORLDS], trace=trace)
            started = time.perf_counter()
            result = route.handler(ctx)
            cost = time.perf_counter() - started  # what a replay of this command costs: the handler alone
        except (ProblemError, SimError) as exc:
            # A handler that runs several operations (a dialect's edit of status and plan at once) may be refused
            # after the first has applied: what did apply is journaled, so a replay rebuilds the same world.
            if ctx is not None and ctx.commands and state.durability is not None:
                for op_name, args in ctx.commands:
                    state.durability.record(op_name, account, args, None, 0.0, sim_time)
            return self.render_problem(exc) if isinstance(exc, ProblemError) else self.render_error(exc)
        finally:
            state.webhooks.notify()
        if isinstance(result, web.StreamResponse):
            return result
        status, data = result if isinstance(result, tuple) else (route.status, result)
        response = self.render(route, status, data)
        if state.durability is not None and status < 300:
            record = None if idem is None else (idem[0], idem[1], status, getattr(response, "body", b"") or b"")
            for n, (op_name, args) in enumerate(ctx.commands):  # the answer to a retry rides on the last command
                last = n == len(ctx.commands) - 1
                state.durability.record(op_name, account, args, record if last else None, cost if last else 0.0,
                                        sim_time)
        return response

    async def _idempotent(self, request: web.Request, state: "ServerState", route: Route, account: str | None,
                          read: Request, key: str) -> web.StreamResponse:
        store = state.idempotency
        scope = account or "admin"
        payload = read.raw if read.upload is None else repr(sorted((k, v) for k, v in read.upload.items())).encode()
        fingerprint = store.fingerprint(route.method, request.path, payload)
        entry = store.get(scope, key)
        if entry is not None:
            if entry.fingerprint != fingerprint:
                return self.render_problem(ProblemError(
                    409, "idempotency_key_reused", "This Idempotency-Key was used with another request; use a new "
                    "key for a new request."))
            assert entry.done is not None
            await entry.done.wait()
            return web.Response(status=entry.status, body=entry.body, content_type=entry.content_type,
                                headers={"Idempotent-Replayed": "true"})
        entry = store.begin(scope, key, fingerprint)
        try:
            response = await self._run(request, state, route, account, read, (key, fingerprint))
        except BaseException:
            store.abandon(scope, key, entry)
            raise
        if response.status >= 500:
            store.abandon(scope, key, entry)
        else:
            store.finish(entry, response.status, getattr(response, "body", b"") or b"", response.content_type)
        return response


def _serve_json(document: dict[str, Any]) -> Callable:
    import json

    text = json.dumps(document, ensure_ascii=False)

    async def serve(_: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")
    return serve
