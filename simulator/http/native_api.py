"""The native REST API (``/v1``) and test control (``/_sim``) as two plug-in APIs over one route table.

Both are JSON APIs described by ``spec`` (request schemas, statuses, the OpenAPI document), whose refusals are RFC
9457 problem documents with a stable ``code`` (``problems``) and whose POSTs honour ``Idempotency-Key``. They
differ in credentials — an account's API key (PLAN-3: it sees only its own cards) against the server's admin
token — and in what else applies: injected faults only touch the native API, the API a platform under test calls.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable

import jsonschema
from aiohttp import BodyPartReader, web
from yarl import URL

from ..errors import SimError
from . import control, native
from .api import Api, Request, Route
from .problems import ProblemError, from_sim_error
from .spec import BODIES, ENGINE_OPERATION, OPERATIONS, Operation
from .tenancy import bearer
from .worlds import world_not_found

if TYPE_CHECKING:
    from .app import ServerState
    from .worlds import Worlds

# routes that can take seconds on a big world: they run in a worker thread, so other worlds keep being served
THREADED = frozenset({"advanceClock", "generateFleet", "rewindTimeline", "restoreSnapshot", "createSnapshot",
                      "importSnapshot", "createWorld"})
WORLD_PREFIX = "/_sim/worlds/{world_id}"
# world management: the server's admin token may use these on any world (besides the world's own token)
MANAGEMENT = frozenset({"getWorld", "deleteWorld"})
UNLOCKED = frozenset({"createWorld", "listWorlds"})  # over the registry: they hold no world while they run

MAX_JSON_BODY = 64 * 1024
MAX_UPLOAD = 16 * 1024 * 1024
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="carriersim"'}  # RFC 9110 §15.5.2: a 401 says how to authenticate
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


def validate_body(op: Operation, raw: bytes) -> dict[str, Any]:
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


def read_query(op: Operation, request: web.Request) -> dict[str, Any]:
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


async def read_body(op: Operation, request: web.Request) -> tuple[bytes, dict[str, Any] | None]:
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



class NativeStyle(Api):
    """What the native API and test control share: the route table, JSON bodies, problem documents."""

    idempotency = True
    control = False

    def routes(self) -> Iterable[Route]:
        handlers = {**native.HANDLERS, **control.HANDLERS,
                    **{route: native.engine_write(route, op) for route, op in ENGINE_OPERATION.items()}}
        for op in OPERATIONS:
            if op.control == self.control:
                yield Route(op.method, op.path, op.id, handlers[op.id], op.status, op, op.id in THREADED,
                            op.id not in UNLOCKED)
                if op.control and op.tag != "worlds":  # the same control route for a world of its own
                    yield Route(op.method, WORLD_PREFIX + op.path[len("/_sim"):], op.id, handlers[op.id], op.status,
                                op, op.id in THREADED)

    async def read(self, route: Route, request: web.Request) -> Request:
        raw, upload = await read_body(route.meta, request)
        return Request(raw, upload)

    def body(self, route: Route, read: Request) -> dict[str, Any]:
        return validate_body(route.meta, read.raw)

    def query(self, route: Route, request: web.Request) -> dict[str, Any]:
        return read_query(route.meta, request)

    def render(self, route: Route, status: int, data: Any) -> web.StreamResponse:
        return _json(status, data)

    def render_error(self, exc: SimError) -> web.StreamResponse:
        return from_sim_error(exc)


class NativeApi(NativeStyle):
    """``/v1``: what a SIM platform calls, with an account's API key as a bearer token."""

    name = "native"
    prefix = "/v1"
    faults = True

    def authenticate(self, request: web.Request, worlds: "Worlds", route: Route) -> "tuple[ServerState, str]":
        """The key alone says which world (and account) a call is for: keys are unique across worlds."""
        found = worlds.for_key(bearer(request.headers.get("Authorization")))
        if found is None:
            raise ProblemError(401, "unauthorized", "Send an account's API key as 'Authorization: Bearer "
                               "<key>' (POST /_sim/accounts issues one).", headers=CHALLENGE)
        return found


class ControlApi(NativeStyle):
    """``/_sim``: test control, behind the server's admin token."""

    name = "control"
    prefix = "/_sim"
    control = True

    def authenticate(self, request: web.Request, worlds: "Worlds", route: Route) -> "tuple[ServerState, None]":
        """``/_sim/…``: the default world, with the server's admin token. ``/_sim/worlds/{id}/…``: world ``id``,
        with that world's own token (for ``GET``/``DELETE /_sim/worlds/{id}`` the server's token too). A token that
        does not open the world answers 401 whether or not the world exists, so no token learns of other worlds."""
        token = bearer(request.headers.get("Authorization"))
        world_id = request.match_info.get("world_id")
        if world_id is None:
            if not worlds.opens(worlds.default, token):
                raise ProblemError(401, "unauthorized", "Test control needs the admin token as "
                                   "'Authorization: Bearer <token>'.", headers=CHALLENGE)
            return worlds.default, None
        state = worlds.get(world_id)
        server = route.name in MANAGEMENT and worlds.is_server_token(token)
        if state is not None and (worlds.opens(state, token) or server):
            return state, None
        if server:  # the server's token may learn that a world is not there
            missing = world_not_found(world_id)
            raise ProblemError(missing.status, missing.code, missing.message)
        raise ProblemError(401, "unauthorized", f"The control routes of world {world_id!r} need that world's own "
                           "admin token (the admin_token POST /_sim/worlds answered) as 'Authorization: Bearer "
                           "<token>'.", headers=CHALLENGE)
