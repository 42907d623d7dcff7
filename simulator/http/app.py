"""The aiohttp application factory: routing from the API table, auth, idempotency, validation, problems.

Every request goes through one dispatcher: credentials (an account's API key, or the admin token under ``/_sim``),
injected faults, the body read once and validated against the operation's schema, ``Idempotency-Key`` on POSTs,
then the handler — a plain synchronous function over the engine, so each request applies atomically — and finally
a wake-up for the webhook workers. Engine refusals become RFC 9457 problems; nothing a client sends produces a 500.
"""

from __future__ import annotations

import json
import logging
import time
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Callable

import jsonschema
from aiohttp import BodyPartReader, web
from yarl import URL

from ..errors import SimError
from ..simulation import Simulation
from . import control, native
from ..durable.store import Store
from .clock_driver import ClockDriver
from .durability import Durability
from .faults import FaultInjector
from .idempotency import IdempotencyStore
from .problems import ProblemError, from_sim_error, problem
from .spec import BODIES, OPERATIONS, Operation, openapi
from .tenancy import KeyRing, bearer, same_token
from .webhooks import WebhookHub

log = logging.getLogger("carriersim.http")
MAX_JSON_BODY = 64 * 1024
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="carriersim"'}  # RFC 9110 §15.5.2: a 401 says how to authenticate
MAX_UPLOAD = 16 * 1024 * 1024


@dataclass
class ServerState:
    """Everything the handlers share. ``sim`` is replaced on reset; read it through the state every time."""

    sim: Simulation
    admin_token: str | None
    keys: KeyRing
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    faults: FaultInjector = field(default_factory=FaultInjector)
    batch_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: WebhookHub = field(init=False)
    clock: ClockDriver = field(init=False)
    durability: Durability | None = None  # with --db: the journal and snapshots


@dataclass
class Ctx:
    """What a handler gets: the state, the calling account (None under /_sim), the validated body, the path
    parameters and the query."""

    state: ServerState
    account: str | None
    body: dict[str, Any]
    params: dict[str, str]
    query: Any
    upload: dict[str, Any] | None = None

    @property
    def sim(self) -> Simulation:
        return self.state.sim


STATE = web.AppKey("state", ServerState)
OPENED = web.AppKey("opened", dict)  # how the world was rebuilt from --db (snapshot, entries replayed, seconds)
_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    """An absolute URI with a host (a webhook must be reachable): ``http://[::1`` is not one."""
    if not isinstance(value, str):
        return True
    url = URL(value)
    return url.absolute and bool(url.scheme) and bool(url.host)


_VALIDATORS = {name: jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
               for name, schema in BODIES.items()}


def _validate(op: Operation, raw: bytes) -> dict[str, Any]:
    if not op.body:
        return {}
    if not raw.strip():
        raise ProblemError(422, "invalid_body", f"{op.method} {op.path} needs a JSON body.")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ProblemError(400, "malformed_json", f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ProblemError(400, "malformed_json", "The body is nested too deeply to be read.") from None
    errors = sorted(_VALIDATORS[op.body].iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        listed = [{"field": "/".join(map(str, e.absolute_path)) or "(body)", "message": e.message} for e in errors]
        first = listed[0]
        raise ProblemError(422, "invalid_body", f"{first['field']}: {first['message']}", errors=listed[:20])
    return _integers(BODIES[op.body], data)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), and NaN would slip past every minimum and maximum."""
    raise ValueError(f"{name} is not a JSON number")


def _integers(schema: dict[str, Any], data: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; hand the handlers a real int wherever the schema says integer."""
    if isinstance(data, dict):
        props = schema.get("properties", {})
        return {k: _integers(props.get(k, {}), v) for k, v in data.items()}
    if isinstance(data, float) and schema.get("type") == "integer":
        return int(data)
    return data


def _query(op: Operation, request: web.Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, schema in op.query:
        if name not in request.query:
            continue
        value: Any = request.query[name]
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?[0-9]{1,30}", value):  # int() would also take "１", " 1_0 " and 4300 digits
                raise ProblemError(422, "invalid_query", f"Query parameter {name} must be an integer.")
            value = int(value)
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            raise ProblemError(422, "invalid_query", f"Query parameter {name}: {exc.message}") from None
        out[name] = value
    return out


def _json(status: int, data: Any) -> web.Response:
    if data is None:
        return web.Response(status=status)
    return web.Response(status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json")


async def _read(op: Operation, request: web.Request) -> tuple[bytes, dict[str, Any] | None]:
    if op.multipart:
        if not request.content_type.startswith("multipart/"):
            raise ProblemError(422, "invalid_body", "Upload the template as multipart/form-data with the fields "
                               "operation, file and (for cancel) document.")
        try:
            return b"", await _read_form(request)
        except (ProblemError, web.HTTPException):
            raise
        except Exception as exc:  # a malformed upload (no boundary, broken parts, nested multipart …)
            raise ProblemError(400, "malformed_multipart", f"The multipart body cannot be read: {exc}.") from None
    if op.method == "GET":  # reads take no body; do not spend a read on one
        return b"", None
    raw = await request.read()
    if len(raw) > MAX_JSON_BODY:
        raise ProblemError(413, "body_too_large", f"JSON bodies are limited to {MAX_JSON_BODY // 1024} KiB.")
    return raw, None


async def _read_form(request: web.Request) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    reader = await request.multipart()
    size = 0
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise ProblemError(400, "malformed_multipart", "Nested multipart bodies are not accepted.")
        data = await part.read(decode=True)
        size += len(data)
        if size > MAX_UPLOAD:
            raise ProblemError(413, "body_too_large", f"Uploads are limited to {MAX_UPLOAD // 2**20} MiB.")
        if part.name == "file":
            fields["file"], fields["filename"] = bytes(data), _filename(part.filename, data)
        elif part.name in ("operation", "document", "name"):
            fields[part.name] = data.decode("utf-8", "replace").strip()
    return fields


def _filename(given: str | None, data: bytes) -> str:
    """The upload's name; one without an extension (``curl -F file=@-``) gets the one its content shows."""
    if given and PurePosixPath(given.replace("\\", "/")).suffix:
        return given
    return (given or "upload") + (".xlsx" if data.startswith(b"PK\x03\x04") else ".csv")


def _dispatcher(op: Operation, handler: Callable[[Ctx], tuple[int, Any] | Any]) -> Callable:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        try:
            token = bearer(request.headers.get("Authorization"))
            if op.control:
                if state.admin_token is None or not same_token(token, state.admin_token):
                    raise ProblemError(401, "unauthorized", "Test control needs the admin token as "
                                       "'Authorization: Bearer <token>'.", headers=CHALLENGE)
                account = None
            else:
                account = state.keys.account_for(token) if token else None
                if account is None or account not in state.sim.accounts:
                    raise ProblemError(401, "unauthorized", "Send an account's API key as 'Authorization: Bearer "
                                       "<key>' (POST /_sim/accounts issues one).", headers=CHALLENGE)
                injected = await state.faults.apply(op.method, op.path)
                if injected is not None:
                    return injected
            raw, upload = await _read(op, request)
            idem_key = request.headers.get("Idempotency-Key") if op.method == "POST" else None
            if idem_key is not None:
                if not 0 < len(idem_key) <= 255:
                    raise ProblemError(422, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters.")
                return await _idempotent(request, state, op, handler, account, raw, upload, idem_key)
            return _run(request, state, op, handler, account, raw, upload)
        except ProblemError as exc:
            return exc.response()
        except web.HTTPRequestEntityTooLarge:
            return problem(413, "body_too_large", "The request body is too large.")
    handle.__name__ = op.id
    return handle


def _run(request: web.Request, state: ServerState, op: Operation, handler: Callable, account: str | None,
         raw: bytes, upload: dict[str, Any] | None, idem: tuple[str, str] | None = None) -> web.StreamResponse:
    """The synchronous heart of a request: validate, apply, journal, answer. No await in here, so it is atomic,
    and an accepted command is durable (with --db) before its answer exists."""
    sim_time = state.sim.now
    try:
        body = _validate(op, raw)
        params = dict(request.match_info)
        ctx = Ctx(state, account, body, params, _query(op, request), upload)
        started = time.perf_counter()
        result = handler(ctx)
        cost = time.perf_counter() - started  # what a replay of this command costs: the handler alone
    except ProblemError as exc:
        return exc.response()
    except SimError as exc:
        return from_sim_error(exc)
    finally:
        state.webhooks.notify()
    if isinstance(result, web.StreamResponse):
        return result
    status, data = result if isinstance(result, tuple) else (op.status, result)
    response = _json(status, data)
    if state.durability is not None and op.method != "GET" and status < 300:
        record = None if idem is None else (idem[0], idem[1], status, response.body or b"")
        state.durability.record(op.id, account, params, body, upload, record, cost, sim_time)
    return response


def execute(state: ServerState, op_id: str, body: dict[str, Any], account: str | None = None,
            params: dict[str, str] | None = None) -> Any:
    """Run one operation from inside the server (``serve --fleet``), journaled like a request."""
    handler = {**native.HANDLERS, **control.HANDLERS}[op_id]
    sim_time, started = state.sim.now, time.perf_counter()
    result = handler(Ctx(state, account, body, params or {}, {}))
    if state.durability is not None:
        state.durability.record(op_id, account, params or {}, body, None, None, time.perf_counter() - started,
                                sim_time)
    return result[1] if isinstance(result, tuple) else result


async def _idempotent(request: web.Request, state: ServerState, op: Operation, handler: Callable,
                      account: str | None, raw: bytes, upload: dict[str, Any] | None, key: str) -> web.Response:
    store = state.idempotency
    scope = account or "admin"
    payload = raw if upload is None else repr(sorted((k, v) for k, v in upload.items())).encode()
    fingerprint = store.fingerprint(op.method, request.path, payload)
    entry = store.get(scope, key)
    if entry is not None:
        if entry.fingerprint != fingerprint:
            return problem(409, "idempotency_key_reused", "This Idempotency-Key was used with another request; "
                           "use a new key for a new request.")
        assert entry.done is not None
        await entry.done.wait()
        return web.Response(status=entry.status, body=entry.body, content_type=entry.content_type,
                            headers={"Idempotent-Replayed": "true"})
    entry = store.begin(scope, key, fingerprint)
    try:
        response = _run(request, state, op, handler, account, raw, upload, (key, fingerprint))
    except BaseException:
        store.abandon(scope, key, entry)
        raise
    if response.status >= 500:
        store.abandon(scope, key, entry)
    else:
        store.finish(entry, response.status, getattr(response, "body", b"") or b"", response.content_type)
    return response


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


async def healthz(_: web.Request) -> web.Response:
    """Liveness and readiness in one: the world is built before the app serves, so answering means ready."""
    from carriersim import __version__

    return web.json_response({"ready": True, "version": __version__})


def create_app(sim: Simulation | None = None, *, admin_token: str | None = None, test_control: bool = True,
               clock: str = "frozen", rate: float = 86400.0, webhook_backoff: float = 0.5, db: str | None = None,
               db_sync: str = "normal") -> web.Application:
    """The carriersim HTTP application. ``test_control=False`` leaves ``/_sim`` out entirely. With ``db`` the
    world is rebuilt from that SQLite file (snapshot + journal) and every accepted command is journaled there;
    a file that is not a usable carriersim database raises ``StoreError`` before anything is written."""
    sim = sim or Simulation()
    app = web.Application(middlewares=[_last_resort], client_max_size=MAX_UPLOAD + 1024)
    state = ServerState(sim, admin_token if test_control else None, KeyRing(sim.seed))
    state.webhooks = WebhookHub(lambda: state.sim, backoff=webhook_backoff)
    state.clock = ClockDriver(lambda: state.sim, clock, rate, on_advance=state.webhooks.notify)
    app[STATE] = state
    if db is not None:
        state.durability = Durability(Store(db, sync=db_sync), state, {**native.HANDLERS, **control.HANDLERS})
        app[OPENED] = state.durability.open()
        state.clock.on_tick = state.durability.record_tick
    handlers = {**native.HANDLERS, **(control.HANDLERS if test_control else {})}
    for op in OPERATIONS:
        if op.control and not test_control:
            continue
        app.router.add_route(op.method, op.path, _dispatcher(op, handlers[op.id]))
    document = openapi()
    if not test_control:
        document["paths"] = {p: v for p, v in document["paths"].items() if not p.startswith("/_sim")}
    text = json.dumps(document, ensure_ascii=False)

    async def serve_openapi(_: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    app.router.add_get("/openapi.json", serve_openapi)
    app.router.add_get("/healthz", healthz)  # container health checks: no token, no faults, answers once serving

    async def on_startup(app: web.Application) -> None:
        await state.webhooks.start()
        state.clock.start()

    async def on_cleanup(app: web.Application) -> None:
        await state.clock.stop()
        await state.webhooks.stop()
        if state.durability is not None:  # a clean stop leaves nothing to replay at the next start
            if state.durability.replay_cost > 0:
                state.durability.snapshot()
            state.durability.store.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
