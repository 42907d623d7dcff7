"""A client for the worlds of a carriersim server: what the ``carrier_world`` pytest fixture hands a test.

``RemoteServer(url, admin_token).create_world(seed=…, start=…, …)`` makes a world (``POST /_sim/worlds``) and gives a
``World``: its id, its own admin token, and small helpers over HTTP — ``control`` (its ``/_sim`` routes), ``api``
(``/v1`` with an account's key), ``create_account``, ``advance``, ``now``, ``delete``. Refusals raise
``WorldRequestError`` carrying the status and the problem document.
"""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class WorldRequestError(Exception):
    """A request the server refused: ``status``, and ``problem`` (its RFC 9457 document) with ``code``."""

    def __init__(self, method: str, path: str, status: int, problem: Any) -> None:
        self.status, self.problem = status, problem
        self.code = problem.get("code") if isinstance(problem, dict) else None
        detail = problem.get("detail") if isinstance(problem, dict) else problem
        super().__init__(f"{method} {path} answered {status} {self.code or ''}: {detail}")


def _call(url: str, method: str, path: str, token: str | None, body: Any = None, timeout: float = 120.0) -> Any:
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    try:
        conn.request(method, parts.path.rstrip("/") + path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    answer = json.loads(payload) if payload else None
    if resp.status >= 400:
        raise WorldRequestError(method, path, resp.status, answer)
    return answer


@dataclass
class RemoteServer:
    url: str
    admin_token: str

    def create_world(self, **spec: Any) -> "World":
        """``POST /_sim/worlds`` with ``seed``, ``start``, ``profiles``, ``fleet``, ``clock``, ``ttl`` (all
        optional)."""
        made = _call(self.url, "POST", "/_sim/worlds", self.admin_token, {k: v for k, v in spec.items()
                                                                           if v is not None})
        return World(self.url, made["id"], made["admin_token"], made)

    def worlds(self) -> list[dict[str, Any]]:
        return _call(self.url, "GET", "/_sim/worlds", self.admin_token)["items"]


@dataclass
class World:
    url: str
    id: str
    admin_token: str
    created: dict[str, Any] = field(default_factory=dict, repr=False)  # the answer of POST /_sim/worlds
    keys: dict[str, str] = field(default_factory=dict)  # account id -> API key, of create_account

    @property
    def control_url(self) -> str:
        return f"{self.url}/_sim/worlds/{self.id}"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A test-control route of this world: ``control("POST", "/clock/advance", {"by": "1 month"})``."""
        return _call(self.url, method, f"/_sim/worlds/{self.id}{path}", self.admin_token, body)

    def api(self, method: str, path: str, key: str, body: Any = None) -> Any:
        """A native API call with an account's key (the key alone says which world): ``api("GET", "/v1/cards",
        key)``."""
        return _call(self.url, method, path, key, body)

    def create_account(self, name: str = "test account", *, verified: bool = True, **more: Any) -> tuple[str, str]:
        """An account of this world and its API key."""
        made = self.control("POST", "/accounts", {"name": name, "verified": verified, **more})
        self.keys[made["account"]["id"]] = made["api_key"]
        return made["account"]["id"], made["api_key"]

    def advance(self, by: str | None = None, to: str | None = None) -> dict[str, Any]:
        return self.control("POST", "/clock/advance", {"by": by} if to is None else {"to": to})

    def now(self) -> str:
        return self.control("GET", "/clock")["now"]

    def delete(self) -> None:
        """Remove the world and its data (a world already gone — expired, deleted — is fine)."""
        try:
            _call(self.url, "DELETE", f"/_sim/worlds/{self.id}", self.admin_token)
        except WorldRequestError as exc:
            if exc.status not in (401, 404):
                raise
        except OSError:  # the server has stopped: the world went with it
            pass
