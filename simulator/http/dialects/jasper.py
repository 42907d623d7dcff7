"""Cisco IoT Control Center (Jasper) REST as a dialect: ``/rws/api/v1/…``, the API China Unicom's IoT platform
serves (``api.10646.cn/rws/api/v1``), so it serves ``cucc`` cards by default.

HTTP Basic ``username:apiKey`` (``credentials``); JSON in and out; dates ``yyyy-MM-dd HH:mm:ss.SSS+0000`` (UTC);
search paged with ``pageSize`` ≤ 50, ``pageNumber`` from 1 and ``lastPage``; errors ``{"errorMessage",
"errorCode"}``; a per-account token bucket (off by default) answering 429 with ``40000029``; Push API events
(form or JSON, ``signature2`` = base64 HMAC-SHA256 of the timestamp) to a URL registered through test control.
This module maps and renders; every write is an operation of the operation table run through ``ctx.run``
(journaled, replayed), and a write the rules refuse answers Control Center's error and changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable
from xml.sax.saxutils import escape

from aiohttp import web

from ... import records as rec
from ...errors import SimError
from ...events import Kind
from ...model import State
from ..api import Request, Route
from ..problems import ProblemError
from ..ratelimit import RateLimit
from . import credentials
from .background import Deliveries

if TYPE_CHECKING:
    from ..app import Ctx, ServerState
    from ..worlds import Worlds

log = logging.getLogger("carriersim.dialects.jasper")
PREFIX = "/rws/api"
SCHEMA_NS = "http://api.jasperwireless.com/ws/schema"
CODE_HEADER = "Carriersim-Code"  # on refusals by the rules: the engine's code (the body keeps CC's shape)

#: engine state → Control Center status (a card swapped away reads REPLACED)
STATUS: dict[State, str] = {
    State.INVENTORY: "INVENTORY", State.TESTING: "TEST_READY", State.READY: "ACTIVATION_READY",
    State.ACTIVE: "ACTIVATED", State.SUSPENDED: "DEACTIVATED", State.RETAINED: "DEACTIVATED",
    State.PENDING_CANCEL: "RETIRED", State.CANCELLED: "PURGED",
}
STATUSES = ("TEST_READY", "INVENTORY", "ACTIVATION_READY", "ACTIVATED", "DEACTIVATED", "RETIRED", "PURGED",
            "REPLACED")
CUSTOM = tuple([f"accountCustom{i}" for i in range(1, 11)] + [f"operatorCustom{i}" for i in range(1, 6)]
               + [f"customerCustom{i}" for i in range(1, 6)])
CUSTOM_KEYS = tuple((name, f"jasper.{name}") for name in CUSTOM)
LABELS = (*CUSTOM, "deviceID", "modemID", "customer", "endConsumerId", "simNotes")
EDITABLE = {"status", "ratePlan", "effectiveDate", *LABELS}

# errorCode values: 10000001, 10000003 and 40000029 are documented (DIALECTS.md §2); the rest are carriersim's own
# choices where the public material is silent (see the README).
INVALID_CREDENTIALS = (401, "10000001", "Invalid credentials")
ERRORS: dict[str, tuple[int, str]] = {
    "card_not_found": (404, "20000001"), "invalid_iccid": (404, "20000001"), "plan_not_found": (400, "20000011"),
    "label_taken": (400, "10000006"),
}
BY_STATUS = {400: "10000006", 402: "20000012", 404: "20000001", 409: "20000012", 422: "10000006",
             503: "50000001"}


def cc_date(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    u = dt.astimezone(timezone.utc)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d} {u.hour:02d}:{u.minute:02d}:{u.second:02d}."
            f"{u.microsecond // 1000:03d}+0000")


def parse_date(text: str, name: str) -> datetime:
    """``yyyy-MM-ddTHH:mm:ss+00:00`` (the spec's search filters), also ``Z`` and the space-separated output form."""
    t = text.strip().replace(" ", "T", 1).replace("Z", "+00:00")
    if len(t) >= 5 and t[-5] in "+-" and t[-3] != ":":
        t = t[:-2] + ":" + t[-2:]  # +0000 → +00:00
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise CcError(400, "10000006", f"{name} must be a date like 2016-04-18T17:31:34+00:00") from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


class CcError(ProblemError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)


class JasperApi(Deliveries):
    name, prefix = "jasper", PREFIX
    idempotency = False
    faults = False

    def __init__(self, carriers: Iterable[str] = ("cucc",), rate_limit: RateLimit | None = None) -> None:
        self.carriers = tuple(carriers)
        self.rate_limit = rate_limit
        self.pushes: list[dict[str, Any]] = []  # Push API registrations (test control, kept in memory)
        self._wake: asyncio.Event | None = None

    # ------------------------------------------------------------------ plug-in contract
    def routes(self) -> Iterable[Route]:
        p = PREFIX + "/v1"
        yield Route("GET", p + "/devices", "ccSearchDevices", self.search)
        yield Route("GET", p + "/devices/{iccid}", "ccGetDevice", self.get_device)
        yield Route("PUT", p + "/devices/{iccid}", "ccEditDevice", self.edit_device)
        yield Route("GET", p + "/devices/{iccid}/ctdUsages", "ccCtdUsages", self.ctd_usages)
        yield Route("GET", p + "/devices/{iccid}/auditTrails", "ccAuditTrails", self.audit_trails)
        yield Route("GET", p + "/rateplans", "ccRatePlans", self.rate_plans)
        yield Route("GET", p + "/echo/{param}", "ccEcho", self.echo)
        yield Route("POST", "/_sim/dialects/jasper/push", "ccRegisterPush", self.register_push, 201)

    def openapi(self) -> dict[str, Any]:
        from .jasper_spec import document
        doc = document()
        doc["info"]["x-carriersim-carriers"] = list(self.carriers)  # whose cards it serves (for targets)
        return doc

    def prepare(self, state: "ServerState") -> None:
        missing = [c for c in self.carriers if c not in state.sim.carrier_ids()]
        if missing:
            raise ValueError(f"the Control Center dialect serves {', '.join(missing)}, which this world lacks")
        state.webhooks.listeners.append(self.wake)

    def authenticate(self, request: web.Request, worlds: "Worlds", route: Route) -> "tuple[ServerState, str | None]":
        if request.path.startswith("/_sim/"):
            from ..tenancy import bearer
            if not worlds.opens(worlds.default, bearer(request.headers.get("Authorization"))):
                raise CcError(*INVALID_CREDENTIALS)
            return worlds.default, None
        found = credentials.account_for(worlds, "jasper", request.headers.get("Authorization"))
        if found is None:
            raise CcError(*INVALID_CREDENTIALS)
        return found

    async def read(self, route: Route, request: web.Request) -> Request:
        return Request(b"" if route.method == "GET" else await request.read())

    def body(self, route: Route, read: Request) -> dict[str, Any]:
        if route.method == "GET":
            return {}
        try:
            data = json.loads(read.raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise CcError(400, "10000006", "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise CcError(400, "10000006", "The request body must be a JSON object")
        return data

    def render_problem(self, exc: ProblemError) -> web.StreamResponse:
        code = exc.code if exc.code.isdigit() else BY_STATUS.get(exc.status, "10000006")
        return self._error(exc.status, code, exc.detail, exc.headers)

    def render_error(self, exc: SimError) -> web.StreamResponse:
        status, code = ERRORS.get(exc.code, (exc.status if exc.status in (404, 503) else 400,
                                             BY_STATUS.get(exc.status, "10000006")))
        headers = None
        if exc.status == 503:
            status, code = 503, "50000001"
            if "retry_after" in exc.detail:
                headers = {"Retry-After": str(max(int(exc.detail["retry_after"]), 1))}
        headers = {**(headers or {}), CODE_HEADER: exc.code}
        return self._error(status, code, exc.message, headers)

    def rate_limited(self, wait: float) -> ProblemError:
        return ProblemError(429, "40000029", "Rate Limit Exceeded", headers={"Retry-After": str(max(1, round(wait)))})

    @staticmethod
    def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, text=json.dumps({"errorMessage": message, "errorCode": code}),
                            content_type="application/json", headers=headers)

    # ------------------------------------------------------------------ reading devices
    def _card(self, ctx: "Ctx", iccid: str) -> rec.Card:
        try:
            card = ctx.sim.card(iccid, ctx.caller)
        except SimError as exc:
            if exc.status in (404, 422):
                raise CcError(404, "20000001", "Resource not found - Invalid ICCID") from None
            raise
        if card.carrier not in self.carriers:
            raise CcError(404, "20000001", "Resource not found - Invalid ICCID")
        return card

    @staticmethod
    def status(card: rec.Card) -> str:
        return "REPLACED" if card.replaced_by is not None else STATUS[card.state]

    @staticmethod
    def updated(ctx: "Ctx", card: rec.Card) -> datetime:
        return ctx.sim.last_changed(card.iccid)

    def device(self, ctx: "Ctx", card: rec.Card) -> dict[str, Any]:
        labels = ctx.sim.labels(card.iccid)
        out: dict[str, Any] = {
            "iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn, "imei": card.imei,
            "status": self.status(card), "ratePlan": card.plan, "communicationPlan": "Data",
            "customer": labels.get("jasper.customer"), "endConsumerId": labels.get("jasper.endConsumerId"),
            "dateActivated": cc_date(card.activated_at), "dateAdded": cc_date(card.opened_at),
            "dateUpdated": cc_date(self.updated(ctx, card)), "dateShipped": None, "accountId": card.account,
            "fixedIPAddress": None, "fixedIpv6Address": None}
        for name, key in CUSTOM_KEYS:
            out[name] = labels.get(key, "")
        out.update({"simNotes": labels.get("jasper.simNotes"), "deviceID": labels.get("jasper.deviceID"),
                    "modemID": labels.get("jasper.modemID"), "globalSimType": "", "eid": None,
                    "simProfileId": None})
        return out

    def get_device(self, ctx: "Ctx") -> dict[str, Any]:
        return self.device(ctx, self._card(ctx, ctx.params["iccid"]))

    def search(self, ctx: "Ctx") -> dict[str, Any]:
        q = ctx.query
        if not q.get("modifiedSince"):
            raise CcError(400, "10000003", "ModifiedSince is required.")
        since = parse_date(q["modifiedSince"], "modifiedSince")
        till = parse_date(q["modifiedTill"], "modifiedTill") if q.get("modifiedTill") else None
        size, number = _int(q, "pageSize", 50, 1, 50), _int(q, "pageNumber", 1, 1, 10**9)
        status = q.get("status")
        if status is not None and status not in STATUSES:
            raise CcError(400, "10000006", f"Invalid status {status}")
        filters = {k: v for k, v in q.items() if k in CUSTOM}
        found = []
        for carrier in self.carriers:
            for card in ctx.sim.cards(ctx.caller, carrier=carrier):
                if status is not None and self.status(card) != status:
                    continue
                if filters:
                    labels = ctx.sim.labels(card.iccid)
                    if any(labels.get(f"jasper.{k}", "") != v for k, v in filters.items()):
                        continue
                changed = self.updated(ctx, card)
                if changed < since or (till is not None and changed > till):
                    continue
                found.append({"iccid": card.iccid, "status": self.status(card), "ratePlan": card.plan,
                              "communicationPlan": "Data"})
        start = (number - 1) * size
        return {"pageNumber": number, "devices": found[start:start + size], "lastPage": start + size >= len(found)}

    def ctd_usages(self, ctx: "Ctx") -> dict[str, Any]:
        card = self._card(ctx, ctx.params["iccid"])
        used = card.usage.cycle_kb if card.usage is not None else 0
        return {"iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn, "imei": card.imei,
                "status": self.status(card), "ratePlan": card.plan, "communicationPlan": "Data",
                "ctdDataUsage": used * 1024, "ctdSMSUsage": 0, "ctdVoiceUsage": 0, "ctdSessionCount": 0,
                "overageLimitReached": any(r.name == "QUOTA" for r in card.reasons),
                "overageLimitOverride": "DEFAULT"}

    def audit_trails(self, ctx: "Ctx") -> dict[str, Any]:
        """The card's history (LIFE-4) as audit entries: status changes (with the reason, which Control Center
        has no other field for) and applied rate plan changes."""
        card = self._card(ctx, ctx.params["iccid"])
        q = ctx.query
        days = _int(q, "daysOfHistory", 30, 1, 365)
        size, number = _int(q, "pageSize", 50, 1, 50), _int(q, "pageNumber", 1, 1, 10**9)
        since = datetime.fromtimestamp(ctx.sim.now, timezone.utc) - timedelta(days=days)
        trail = []
        for ev in ctx.sim.history(card.iccid):
            if ev.time < since:
                continue
            if ev.kind == Kind.STATE_CHANGED and ev.old_state is not None and ev.new_state is not None:
                old, new = STATUS[ev.old_state], STATUS[ev.new_state]
                if old == new and not ev.reasons:
                    continue
                trail.append({"field": "Status", "priorValue": old, "value": new,
                              "effectiveDate": cc_date(ev.time), "status": "Executed", "userName": ev.cause.label,
                              "reason": ",".join(ev.reasons.names()) if ev.reasons else None,
                              "change": ev.change})
            elif ev.kind == Kind.PLAN_CHANGE_APPLIED:
                detail = ev.detail or {}
                trail.append({"field": "Rate Plan", "priorValue": detail.get("from"),
                              "value": detail.get("to"),
                              "effectiveDate": cc_date(ev.time), "status": "Executed", "userName": ev.cause.label,
                              "reason": None, "change": None})
        trail.reverse()  # newest first
        start = (number - 1) * size
        return {"iccid": card.iccid, "deviceAuditTrails": trail[start:start + size], "pageNumber": number,
                "lastPage": start + size >= len(trail)}

    def rate_plans(self, ctx: "Ctx") -> dict[str, Any]:
        q = ctx.query
        size, number = _int(q, "pageSize", 50, 1, 50), _int(q, "pageNumber", 1, 1, 10**9)
        plans = [{"name": p.code, "description": p.name, "type": p.term.upper(), "dataAllowanceMB": p.quota_kb // 1024,
                  "subscriptionCharge": f"{p.price / 100:.2f}", "termMonths": p.term_months}
                 for c in self.carriers for p in ctx.sim.plans(c)]
        start = (number - 1) * size
        return {"ratePlans": plans[start:start + size], "pageNumber": number, "lastPage": start + size >= len(plans)}

    def echo(self, ctx: "Ctx") -> dict[str, Any]:
        return {"param": ctx.params["param"]}

    # ------------------------------------------------------------------ editing a device
    def edit_device(self, ctx: "Ctx") -> tuple[int, dict[str, Any]]:
        """``status`` → activate / manual suspend / resume; ``ratePlan`` (+ ``effectiveDate``) → plan change, at
        the next cycle start whatever the date says (PLAN-1: 202, the change is pending); custom fields and the
        device identifiers → labels. 200 when everything took effect at once."""
        card = self._card(ctx, ctx.params["iccid"])
        body = ctx.body
        if not body:
            raise CcError(400, "10000006", "At least one parameter is required")
        unknown = set(body) - EDITABLE
        if unknown:
            raise CcError(400, "10000006", f"Unsupported parameter {sorted(unknown)[0]}")
        for key in set(body) - {"status"}:
            if body[key] is not None and not isinstance(body[key], str):
                raise CcError(400, "10000006", f"{key} must be a string")
        if "effectiveDate" in body and "ratePlan" not in body:
            raise CcError(400, "10000006", "effectiveDate goes with ratePlan")
        if body.get("effectiveDate"):
            parse_date(body["effectiveDate"], "effectiveDate")
        target = body.get("status")
        if target is not None and target not in STATUSES:
            raise CcError(400, "10000006", f"Invalid status {target!r}")
        current = self.status(card)
        if target is not None:  # the rules decide, the current status included (a second stop is refused)
            if target == "DEACTIVATED":
                ctx.run("suspend", {"iccid": card.iccid})
            elif target == "ACTIVATED" and current in ("INVENTORY", "TEST_READY", "ACTIVATION_READY"):
                ctx.run("activate", {"iccid": card.iccid})
            elif target == "ACTIVATED":
                ctx.run("resume", {"iccid": card.iccid})
            else:  # RETIRED needs the cancellation document CC has no field for: reach it through /v1
                raise CcError(400, "20000012", f"Status change from {current} to {target} is not allowed")
            # (a resumed manual stop may leave the card DEACTIVATED for another reason: the edit still happened)
        pending = False
        if body.get("ratePlan"):  # the rules decide (back to the current plan while a change is pending …)
            ctx.run("change_plan", {"iccid": card.iccid, "plan": body["ratePlan"]})
            pending = True
        for name in LABELS:
            if name in body:
                ctx.run("set_label", {"iccid": card.iccid, "key": f"jasper.{name}", "value": body[name] or None})
        return (202 if pending else 200), {"iccid": card.iccid}

    # ------------------------------------------------------------------ Push API (test control registers)
    def register_push(self, ctx: "Ctx") -> tuple[int, dict[str, Any]]:
        """``POST /_sim/dialects/jasper/push {"account", "url", "format": "form"|"json"}``: the account's status
        changes are pushed to ``url`` from now on, signed with the returned secret."""
        b = ctx.body
        account, url, fmt = b.get("account"), b.get("url"), b.get("format", "form")
        if not isinstance(account, str) or not ctx.sim.has_account(account):
            raise CcError(404, "20000001", "No such account")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or fmt not in ("form", "json"):
            raise CcError(400, "10000006", "url (http/https) and format (form or json) are required")
        secret = hmac.new(str(ctx.sim.seed).encode(), f"push:{len(self.pushes)}:{account}:{url}".encode(),
                          hashlib.sha256).hexdigest()[:32]
        self.pushes.append({"account": account, "url": url, "format": fmt, "secret": secret,
                            "cursor": ctx.sim.event_count(), "sent": 0, "world": ctx.state.keys.generation})
        return 201, {"id": f"push-{len(self.pushes):04d}", "secret": secret}

    def push_events(self, state: "ServerState", push: dict[str, Any]) -> list[dict[str, str]]:
        """The Push API messages of the account's status changes since the registration's cursor."""
        events, push["cursor"] = state.sim.events_since(push["cursor"], 500, push["account"])
        out = []
        for ev in events:
            if ev.kind != Kind.STATE_CHANGED or ev.old_state is None or ev.new_state is None:
                continue
            old, new = STATUS[ev.old_state], STATUS[ev.new_state]
            if old == new:
                continue
            ts = ev.time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
                f"{ev.time.microsecond // 1000:03d}Z"
            fields = {"iccid": ev.iccid or "", "previousState": old, "currentState": new,
                      "dateChanged": cc_date(ev.time) or ""}
            if push["format"] == "json":
                data: Any = fields
            else:
                data = f'<SimStateChange xmlns="{SCHEMA_NS}">' + "".join(
                    f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</SimStateChange>"
            out.append({"eventId": f"SIM_STATE_CHANGE-{ev.seq}", "eventType": "SIM_STATE_CHANGE", "timestamp": ts,
                        "signature": sign(push["secret"], ts, hashlib.sha1),
                        "signature2": sign(push["secret"], ts), "data": data})
        return out

    async def _deliver(self, state: "ServerState") -> None:
        import aiohttp
        assert self._wake is not None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self.pushes = [p for p in self.pushes if p["world"] == state.keys.generation]  # a reset ends them
                for push in self.pushes:
                    for message in self.push_events(state, push):
                        try:
                            if push["format"] == "json":
                                resp = await session.post(push["url"], json=message)
                            else:
                                resp = await session.post(push["url"], data=message)
                            await resp.release()
                            push["sent"] += 1
                        except Exception as exc:  # a receiver that is down misses the event (no retry queue)
                            log.info("push to %s failed: %s", push["url"], exc)


def sign(secret: str, timestamp: str, digest: Any = hashlib.sha256) -> str:
    """``signature2``: base64 of HMAC-SHA256(secret, timestamp) (Cisco's sample receiver); ``signature`` the same
    with SHA-1 (older receivers; the algorithm is carriersim's assumption)."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode(), digest).digest()).decode()


def _int(q: Any, name: str, default: int, lo: int, hi: int) -> int:
    text = q.get(name)
    if text is None:
        return default
    if not str(text).isdigit() or not lo <= int(text) <= hi:
        raise CcError(400, "10000006", f"{name} must be an integer from {lo} to {hi}")
    return int(text)
