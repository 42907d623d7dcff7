"""Any server speaking the native HTTP API (``/v1``) plus test control (``/_sim``): ``carriersim serve``, or an
implementation that offers the same two surfaces.

Synchronous, one keep-alive connection: a scenario is a sequence, and the runner waits for each answer anyway.

With ``own_world`` (the pytest plugin and ``carriersim conformance`` ask for it), every ``reset`` makes a world of
the target's own on the server (``POST /_sim/worlds {seed, start}``) and deletes the one before, so that targets
in several processes share one server without moving each other's clocks; test control then goes to
``/_sim/worlds/{id}/…`` with that world's token, and platform calls reach it by its keys alone. ``None`` (auto)
does so when the server offers worlds and falls back to its one world when it does not (a server of another
implementation); ``False`` always uses the server's default world (``POST /_sim/reset``).
Problem responses (RFC 9457) become :class:`~scenarios.target.Refused` with the problem's ``code``; anything
unreadable, or no answer at all, is a :class:`~scenarios.target.TargetError`.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from carriersim.simulator.http.spec import BY_ID, ENGINE_OPERATION

from ..target import CAPABILITIES, Refused, TargetError

MULTIPART_BOUNDARY = "carriersim-scenario-boundary"
ROUTE_OF = {op: BY_ID[route] for route, op in ENGINE_OPERATION.items()}  # operation → its native route


def given(**fields: Any) -> dict[str, Any]:
    """A request body of the fields that were given (None: left out, so the server's default applies)."""
    return {k: v for k, v in fields.items() if v is not None}


class HttpTarget:
    name = "http"
    # every capability of the native API, but not carriersim's wording: another server's sentences are its own
    capabilities = frozenset(CAPABILITIES) - {"messages"}

    def __init__(self, url: str, *, admin_token: str | None = None, timeout: float = 30.0,
                 own_world: bool | None = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not a server URL; write it like http://127.0.0.1:8080.")
        self.url = url.rstrip("/")
        self.name = f"http {self.url}"
        self._prefix = parts.path.rstrip("/")
        self._host, self._port, self._tls = parts.hostname, parts.port, parts.scheme == "https"
        self._timeout = timeout
        self._admin = admin_token
        self._keys: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._profiles: dict[str, dict[str, Any]] = {}
        self._carriers: list[str] | None = None
        self.own_world = own_world
        self.world: str | None = None  # the id of the world this target made (own_world)
        self._world_token: str | None = None
        self._control = "/_sim"  # where test control of the current world is mounted

    # ---------------------------------------------------------------- transport
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._tls else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: Any = None, *, account: str | None = None,
                 raw: bytes | None = None, content_type: str = "application/json", server: bool = False) -> Any:
        headers = {"Accept": "application/json"}
        if path.startswith("/_sim") and not server:  # test control of the current world
            path = self._control + path[len("/_sim"):]
        if account is None:
            token = self._admin if server or self._world_token is None else self._world_token
            if token:
                headers["Authorization"] = f"Bearer {token}"
        else:
            headers["Authorization"] = f"Bearer {self._keys[account]}"
        if method in ("POST", "DELETE"):
            headers["Idempotency-Key"] = uuid.uuid4().hex
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):  # a keep-alive connection the server closed is retried once on a new one
            conn = self._connection()
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                self._conn = None
                if attempt == 2:
                    raise TargetError(f"{method} {self.url}{path}: no answer ({exc}).") from None
        if resp.status == 204 or not payload:
            return None
        try:
            answer = json.loads(payload)
        except ValueError:
            raise TargetError(f"{method} {self.url}{path} answered {resp.status} with something that is not "
                              f"JSON: {payload[:200]!r}") from None
        if resp.status in (401, 403):  # not a refusal of the scenario: the target cannot be used as configured
            detail = answer.get("detail", "") if isinstance(answer, dict) else ""
            raise TargetError(f"{self.url} refused the credentials ({resp.status}): {detail} Check --admin-token "
                              "(or $CARRIERSIM_ADMIN_TOKEN).")
        if resp.status >= 400:
            if isinstance(answer, dict) and "code" in answer:
                raise Refused(str(answer["code"]), str(answer.get("detail", "")), resp.status)
            raise TargetError(f"{method} {self.url}{path} answered {resp.status}: {answer!r}")
        return answer

    def _card_path(self, iccid: str, suffix: str = "") -> str:
        return f"/v1/cards/{quote(iccid, safe='')}{suffix}"

    # ---------------------------------------------------------------- test control
    def reset(self, *, start: str, seed: int) -> None:
        self._keys.clear()
        if self.own_world is not False:
            self._drop_world()
            try:
                made = self._request("POST", "/_sim/worlds", {"seed": seed, "start": start}, server=True)
            except Refused as exc:
                if self.own_world is None and getattr(exc, "status", None) in (404, 405):
                    self.own_world = False  # a server with one world: use it
                else:
                    raise TargetError(f"{self.url} could not make a world for this run: {exc.code}: {exc}") \
                        from None
            else:
                self.world, self._world_token, self._control = made["id"], made["admin_token"], made["control"]
                return
        self._request("POST", "/_sim/reset", {"seed": seed, "start": start})

    def offers_worlds(self) -> bool:
        """Whether the server makes worlds of their own for targets (``GET /_sim/worlds`` answers a list)."""
        try:
            answer = self._request("GET", "/_sim/worlds", server=True)
        except Refused:
            return False
        return isinstance(answer, dict) and isinstance(answer.get("items"), list)

    def _drop_world(self) -> None:
        if self.world is None:
            return
        world, self.world, self._world_token, self._control = self.world, None, None, "/_sim"
        try:
            self._request("DELETE", f"/_sim/worlds/{world}", server=True)
        except Refused:  # expired or deleted already: nothing is left to remove
            pass

    def now(self) -> str:
        return self._request("GET", "/_sim/clock")["now"]

    def advance(self, to: str) -> None:
        self._request("POST", "/_sim/clock/advance", {"to": to})

    def report_usage(self, iccid: str, *, kb: int, region: str | None = None,
                     imei: str | None = None) -> dict[str, Any]:
        return self._request("POST", f"/_sim/cards/{quote(iccid, safe='')}/usage",
                             given(kb=kb, region=region, imei=imei))

    def start_maintenance(self, carrier: str, *, until: str, stop_cards: bool = True) -> None:
        self._request("POST", f"/_sim/carriers/{carrier}/maintenance", {"until": until, "stop_cards": stop_cards})

    def end_maintenance(self, carrier: str) -> None:
        self._request("DELETE", f"/_sim/carriers/{carrier}/maintenance")

    def carrier_bar(self, iccid: str, note: str = "") -> None:
        self._request("POST", f"/_sim/cards/{quote(iccid, safe='')}/carrier-hold", {"note": note})

    def carrier_release(self, iccid: str) -> None:
        self._request("DELETE", f"/_sim/cards/{quote(iccid, safe='')}/carrier-hold")

    # ---------------------------------------------------------------- catalogue
    def carriers(self) -> list[str]:
        if self._carriers is None and self.own_world is not False:  # the server's, without touching a world
            try:
                self._carriers = list(self._request("GET", "/_sim/worlds/default", server=True)["carriers"])
            except (Refused, TargetError, KeyError, TypeError):
                pass
        if self._carriers is None:  # a server's carriers are fixed at start (a reset keeps the profiles)
            # /v1/carriers answers account keys only: a throwaway account of the current world reads it
            account = self.create_account("carriersim catalogue reader", kind="enterprise", verified=False,
                                          id_number=None)
            self._carriers = [c["id"] for c in self._request("GET", "/v1/carriers", account=account)["items"]]
        return list(self._carriers)

    def profile(self, carrier: str) -> dict[str, Any]:
        if carrier not in self._profiles:  # profiles do not change while a server runs
            self._profiles[carrier] = self._request("GET", f"/_sim/carriers/{carrier}/profile")
        return self._profiles[carrier]

    def plans(self, carrier: str) -> list[dict[str, Any]]:
        return list(self.profile(carrier).get("plans", []))

    def addons(self, carrier: str) -> list[dict[str, Any]]:
        return list(self.profile(carrier).get("addons", []))

    # ---------------------------------------------------------------- operations
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str:
        answer = self._request("POST", "/_sim/accounts",
                               given(name=name, kind=kind, verified=verified, id_number=id_number))
        account = answer["account"]["id"]
        self._keys[account] = answer["api_key"]
        return account

    def call(self, operation: str, account: str, args: dict[str, Any]) -> Any:
        """A platform operation through the native route that renders it (``spec.ENGINE_OPERATION``): the
        route's path parameters from ``args``, the rest as the JSON body."""
        route = ROUTE_OF.get(operation)
        if route is None:
            raise TargetError(f"the native API has no route for operation {operation!r}")
        rest = dict(args)
        path = re.sub(r"\{(\w+)\}", lambda m: quote(str(rest.pop(m.group(1))), safe=""), route.path)
        body = given(**rest)
        return self._request(route.method, path, body if route.method == "POST" else None, account=account)

    def batch(self, account: str, operation: str, csv: bytes, *, document: str | None = None) -> dict[str, Any]:
        fields = [("operation", None, operation.encode())]
        if document is not None:
            fields.append(("document", None, document.encode()))
        fields.append(("file", "batch.csv", csv))
        parts = []
        for name, filename, value in fields:
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            parts.append(f"--{MULTIPART_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
                         + value + b"\r\n")
        data = b"".join(parts) + f"--{MULTIPART_BOUNDARY}--\r\n".encode()
        return self._request("POST", "/v1/batch-jobs", raw=data, account=account,
                             content_type=f"multipart/form-data; boundary={MULTIPART_BOUNDARY}")

    # ---------------------------------------------------------------- observations
    def card(self, account: str, iccid: str) -> dict[str, Any]:
        return self._request("GET", self._card_path(iccid), account=account)

    def history(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return self._request("GET", self._card_path(iccid, "/history"), account=account)["items"]

    def ledger(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return self._request("GET", self._card_path(iccid, "/ledger"), account=account)["items"]

    def certificate(self, account: str, iccid: str) -> dict[str, Any]:
        return self._request("GET", self._card_path(iccid, "/certificate"), account=account)

    def pool(self, account: str, pool: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/pools/{quote(pool, safe='')}", account=account)

    def close(self) -> None:
        try:
            self._drop_world()
        except TargetError:  # the server is gone: so is the world
            pass
        if self._conn is not None:
            self._conn.close()
            self._conn = None
