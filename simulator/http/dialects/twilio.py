"""Twilio Super SIM (``supersim.twilio.com/v1``) as a dialect: the official ``twilio`` SDK runs against it unchanged
with ``client.supersim.base_url = "http://HOST:PORT/twilio"``.

HTTP Basic Account SID + auth token (``credentials``); form-encoded PascalCase parameters in, snake_case JSON out;
lists paged with ``meta`` (absolute ``next_page_url`` built from the request's own host, ``key``); errors as
``{"code", "message", "more_info", "status"}`` with Twilio's codes — never the RFC 9457 field set, which the SDK
reads as another exception type. A SIM is a card of the dialect's carriers (default: the shipped ``supersim``
profile), a Fleet is a plan (``data_limit`` = its quota). This module maps and renders; the rules are the engine's:
every write is an operation of the operation table run through ``ctx.run`` (journaled, replayed), and a write the
rules refuse answers Twilio's error for it and changes nothing. The README's "Carrier dialects" has the tables.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from ... import records as rec
from ...errors import SimError
from ...model import State
from ...profile import CarrierProfile, load_profile
from ..api import Request, Route
from ..problems import ProblemError
from ..ratelimit import RateLimit
from . import credentials
from .background import Deliveries

if TYPE_CHECKING:
    from ..app import Ctx, ServerState
    from ..worlds import Worlds

log = logging.getLogger("carriersim.dialects.twilio")
PROFILE = "supersim"
PREFIX = "/twilio"
UNIQUE_NAME = "twilio.unique_name"
SCHEDULED = "twilio.scheduled_until"  # epoch seconds: the SIM reads `scheduled` until the clock passes it
CODE_HEADER = "Carriersim-Code"  # on refusals by the rules: the engine's code (the body keeps Twilio's shape)
BASE = "__base__"  # the query key under which the request's own origin + mount reaches the handlers

#: engine state → Super SIM status (inventory cards are not registered: 404)
STATUS: dict[State, str] = {
    State.READY: "new", State.TESTING: "ready", State.ACTIVE: "active", State.SUSPENDED: "inactive",
    State.RETAINED: "inactive", State.PENDING_CANCEL: "inactive", State.CANCELLED: "inactive",
}
#: engine refusal code → (HTTP status, Twilio error code); others by HTTP status (STATUS_CODES)
ERRORS: dict[str, tuple[int, int]] = {
    "card_not_found": (404, 20404), "plan_not_found": (400, 83006), "card_not_in_stock": (400, 83002),
    "label_taken": (409, 20409), "invalid_iccid": (400, 83002), "invalid_input": (400, 20001),
}
STATUS_CODES = {400: 20001, 401: 20003, 402: 20001, 404: 20404, 409: 83010, 422: 20001, 429: 20429, 503: 20503}


def profile_path() -> str:
    from importlib import resources
    return str(resources.files("carriersim.simulator.http.dialects").joinpath("supersim.yaml"))


def supersim_profile() -> CarrierProfile:
    return load_profile(profile_path())


def _hex(kind: str, text: str) -> str:
    return hashlib.md5(f"{kind}:{text}".encode()).hexdigest()


def sim_sid(iccid: str) -> str:
    return "HS" + _hex("sim", iccid)


def fleet_sid(plan: str) -> str:
    return "HF" + _hex("fleet", plan)


def registration_code(iccid: str) -> str:
    """The code printed on the SIM's card (a function of the ICCID; the stock route hands it out)."""
    return hashlib.sha256(f"registration:{iccid}".encode()).hexdigest()[:10].upper()


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


class TwilioError(ProblemError):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(status, str(code), message)


class TwilioApi(Deliveries):
    name, prefix = "twilio", PREFIX
    idempotency = False  # the real API has no Idempotency-Key
    faults = False

    def __init__(self, carriers: Iterable[str] = (PROFILE,), rate_limit: RateLimit | None = None) -> None:
        self.carriers = tuple(carriers)
        self.rate_limit = rate_limit
        self._sids: dict[str, str] = {}  # sid → ICCID (a pure function's inverse: never stale)
        self.pending: list[dict[str, Any]] = []  # callbacks waiting for their update to complete on the clock
        self._wake: asyncio.Event | None = None

    # ------------------------------------------------------------------ plug-in contract
    def routes(self) -> Iterable[Route]:
        p = PREFIX + "/v1"
        yield Route("POST", p + "/Sims", "twilioCreateSim", self.create_sim, 201)
        yield Route("GET", p + "/Sims", "twilioListSims", self.list_sims)
        yield Route("GET", p + "/Sims/{sid}", "twilioFetchSim", self.fetch_sim)
        yield Route("POST", p + "/Sims/{sid}", "twilioUpdateSim", self.update_sim)
        yield Route("GET", p + "/Sims/{sid}/BillingPeriods", "twilioListBillingPeriods", self.billing_periods)
        yield Route("GET", p + "/Fleets", "twilioListFleets", self.list_fleets)
        yield Route("GET", p + "/Fleets/{sid}", "twilioFetchFleet", self.fetch_fleet)
        yield Route("GET", p + "/UsageRecords", "twilioListUsageRecords", self.usage_records)
        yield Route("POST", "/_sim/dialects/twilio/stock", "twilioStock", self.stock, 201)  # test control

    def openapi(self) -> dict[str, Any]:
        from .twilio_spec import document
        doc = document()
        doc["info"]["x-carriersim-carriers"] = list(self.carriers)  # whose cards it serves (for targets)
        return doc

    def prepare(self, state: "ServerState") -> None:
        missing = [c for c in self.carriers if c not in state.sim.carrier_ids()]
        if missing:
            raise ValueError(f"the Twilio dialect serves {', '.join(missing)}, which this world has no profile for "
                             f"(load {profile_path()})")
        state.webhooks.listeners.append(self.wake)

    def authenticate(self, request: web.Request, worlds: "Worlds", route: Route) -> "tuple[ServerState, str | None]":
        if request.path.startswith("/_sim/"):
            from ..tenancy import bearer
            if not worlds.opens(worlds.default, bearer(request.headers.get("Authorization"))):
                raise TwilioError(401, 20003, "Authenticate: test control needs the admin token")
            return worlds.default, None
        found = credentials.account_for(worlds, "twilio", request.headers.get("Authorization"))
        if found is None:
            raise TwilioError(401, 20003, "Authenticate")
        return found

    def body(self, route: Route, read: Request) -> dict[str, Any]:
        if route.method != "POST":
            return {}
        try:
            text = read.raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TwilioError(400, 20001, "The request body is not UTF-8 form data.") from None
        if route.name == "twilioStock":
            try:
                data = json.loads(text or "{}")
            except ValueError:
                raise TwilioError(400, 20001, "The body is not JSON.") from None
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(text, keep_blank_values=True))

    def query(self, route: Route, request: web.Request) -> dict[str, Any]:
        out = dict(request.query)
        out[BASE] = f"{request.scheme}://{request.host}{PREFIX}"
        return out

    def render_problem(self, exc: ProblemError) -> web.StreamResponse:
        code = int(exc.code) if exc.code.isdigit() else STATUS_CODES.get(exc.status, 20001)
        return self._error(exc.status, code, exc.detail, exc.headers)

    def render_error(self, exc: SimError) -> web.StreamResponse:
        status, code = ERRORS.get(exc.code, (exc.status if exc.status in STATUS_CODES else 400,
                                             STATUS_CODES.get(exc.status, 20001)))
        headers = None
        if exc.status == 503:
            status, code = 503, 20503
            if "retry_after" in exc.detail:
                headers = {"Retry-After": str(max(int(exc.detail["retry_after"]), 1))}
        headers = {**(headers or {}), CODE_HEADER: exc.code}
        return self._error(status, code, exc.message, headers)

    def rate_limited(self, wait: float) -> ProblemError:
        return ProblemError(429, "20429", "Too Many Requests", headers={"Retry-After": str(max(1, round(wait)))})

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)

    # ------------------------------------------------------------------ finding SIMs
    def _card(self, ctx: "Ctx", ref: str) -> rec.Card:
        """A SIM by sid or unique name, as the caller sees it (PLAN-3: another account's is not found)."""
        iccid = self._sids.get(ref)
        if iccid is None and not ref.startswith("HS"):
            iccid = ctx.sim.find_labelled(ctx.caller, UNIQUE_NAME, ref)
        if iccid is None and ref.startswith("HS"):
            for c in ctx.sim.cards(ctx.caller):
                self._sids[sim_sid(c.iccid)] = c.iccid
            iccid = self._sids.get(ref)
        if iccid is None:
            raise TwilioError(404, 20404, f"The requested resource /Sims/{ref} was not found")
        try:
            card = ctx.sim.card(iccid, ctx.caller)
        except SimError as exc:
            if exc.status == 404:
                raise TwilioError(404, 20404, f"The requested resource /Sims/{ref} was not found") from None
            raise
        if card.carrier not in self.carriers or card.state == State.INVENTORY:
            raise TwilioError(404, 20404, f"The requested resource /Sims/{ref} was not found")
        return card

    def _plan(self, ctx: "Ctx", ref: str) -> tuple[str, Any]:
        for carrier in self.carriers:
            for plan in ctx.sim.plans(carrier):
                if ref in (plan.code, fleet_sid(plan.code)):
                    return carrier, plan
        raise TwilioError(404 if ctx.params.get("sid") == ref else 400, 83006 if ctx.params.get("sid") != ref
                          else 20404, f"The Fleet {ref} was not found")

    # ------------------------------------------------------------------ rendering
    def sim_view(self, ctx: "Ctx", card: rec.Card, base: str | None = None) -> dict[str, Any]:
        base = base or ctx.query[BASE]
        sid = sim_sid(card.iccid)
        self._sids[sid] = card.iccid
        labels = ctx.sim.labels(card.iccid)
        status = STATUS.get(card.state, "inactive")
        until = labels.get(SCHEDULED)
        if until is not None and ctx.sim.now < int(until):
            status = "scheduled"
        url = f"{base}/v1/Sims/{sid}"
        updated = max(t for t in (card.opened_at, card.activated_at, card.expired_at) if t is not None)
        return {"sid": sid, "unique_name": labels.get(UNIQUE_NAME), "account_sid": self._account_sid(ctx),
                "iccid": card.iccid, "status": status, "fleet_sid": fleet_sid(card.plan) if card.plan else None,
                "date_created": iso(card.opened_at), "date_updated": iso(updated), "url": url,
                "links": {"billing_periods": url + "/BillingPeriods", "sim_ip_addresses": url + "/IpAddresses"}}

    def _account_sid(self, ctx: "Ctx") -> str:
        return credentials.username(ctx.state, "twilio", ctx.caller)

    def fleet_view(self, ctx: "Ctx", plan: Any) -> dict[str, Any]:
        sid = fleet_sid(plan.code)
        return {"account_sid": self._account_sid(ctx), "sid": sid, "unique_name": plan.code,
                "date_created": None, "date_updated": None, "url": f"{ctx.query[BASE]}/v1/Fleets/{sid}",
                "data_enabled": True, "data_limit": plan.quota_kb // 1024, "data_metering": "payg",
                "sms_commands_enabled": False, "sms_commands_url": None, "sms_commands_method": "POST",
                "network_access_profile_sid": "HA" + _hex("nap", plan.code), "ip_commands_url": None,
                "ip_commands_method": "POST"}

    def _page(self, ctx: "Ctx", path: str, key: str, items: list[Any], filters: dict[str, str]) -> dict[str, Any]:
        q = ctx.query
        size = _int(q.get("PageSize", "50"), "PageSize", 1, 1000)
        page = _int(q.get("Page", "0"), "Page", 0, 10**9)
        token = q.get("PageToken")
        start = page * size
        if token:
            if not (token.startswith("PA") and token[2:].isdigit()):
                raise TwilioError(400, 20001, "PageToken is not valid")
            start = int(token[2:])
        base = f"{q[BASE]}/v1/{path}"

        def url(n: int, offset: int | None) -> str:
            params = {**filters, "PageSize": str(size), "Page": str(n)}
            if offset is not None:
                params["PageToken"] = f"PA{offset}"
            return f"{base}?{urlencode(params)}"
        chunk = items[start:start + size]
        more = start + size < len(items)
        return {key: chunk, "meta": {
            "page": page, "page_size": size, "first_page_url": url(0, None),
            "previous_page_url": url(page - 1, max(start - size, 0)) if page > 0 else None,
            "url": url(page, start if token else None),
            "next_page_url": url(page + 1, start + size) if more else None, "key": key}}

    # ------------------------------------------------------------------ Sims
    def create_sim(self, ctx: "Ctx") -> tuple[int, dict[str, Any]]:
        iccid, code = ctx.body.get("Iccid"), ctx.body.get("RegistrationCode")
        if not iccid or not code:
            raise TwilioError(400, 83001, "Iccid and RegistrationCode are required")
        try:
            mine = ctx.sim.card(iccid, ctx.caller)
        except SimError:
            mine = None
        if mine is not None:
            raise TwilioError(409, 83003, "The Super SIM is already in your account")
        if code != registration_code(iccid):
            raise TwilioError(400, 83002, "The Super SIM cannot be registered: wrong RegistrationCode")
        carrier = self.carrier_of(ctx, iccid)
        plan = ctx.sim.plans(carrier)[0]  # the default Fleet
        ctx.run("open_card", {"carrier": carrier, "plan": plan.code, "iccid": iccid, "auto_suspend": True})
        return 201, self.sim_view(ctx, ctx.sim.card(iccid, ctx.caller))

    def carrier_of(self, ctx: "Ctx", iccid: str) -> str:
        """The served carrier whose ICCID ranges the SIM's number is in (the first served one otherwise)."""
        for carrier in self.carriers:
            if any(iccid.startswith(p) for p in ctx.sim.profile(carrier).iccid_prefixes):
                return carrier
        return self.carriers[0]

    def list_sims(self, ctx: "Ctx") -> dict[str, Any]:
        q = ctx.query
        filters = {k: q[k] for k in ("Status", "Fleet", "Iccid") if k in q}
        want_fleet = self._plan(ctx, q["Fleet"])[1].code if "Fleet" in q else None
        views = []
        for carrier in self.carriers:
            for card in ctx.sim.cards(ctx.caller, carrier=carrier):
                if card.state == State.INVENTORY or ("Iccid" in q and card.iccid != q["Iccid"]):
                    continue
                if want_fleet is not None and card.plan != want_fleet:
                    continue
                view = self.sim_view(ctx, card)
                if "Status" in q and view["status"] != q["Status"]:
                    continue
                views.append(view)
        return self._page(ctx, "Sims", "sims", views, filters)

    def fetch_sim(self, ctx: "Ctx") -> dict[str, Any]:
        return self.sim_view(ctx, self._card(ctx, ctx.params["sid"]))

    def update_sim(self, ctx: "Ctx") -> tuple[int, dict[str, Any]]:
        """Status → activate / manual suspend / resume; Fleet → plan change (PLAN-1: at the next period);
        UniqueName → a label; CallbackUrl → called once the update has completed on the clock. 202 while the
        update is ``scheduled`` (until the clock next moves), 200 when nothing was asynchronous."""
        card = self._card(ctx, ctx.params["sid"])
        body = ctx.body
        unknown = set(body) - {"Status", "Fleet", "UniqueName", "CallbackUrl", "CallbackMethod", "AccountSid"}
        if unknown:
            raise TwilioError(400, 20001, f"Unknown parameter {sorted(unknown)[0]}")
        if "AccountSid" in body:
            raise TwilioError(400, 20001, "Moving a Super SIM to another account is not supported by carriersim")
        method = body.get("CallbackMethod", "POST").upper()
        if method not in ("GET", "POST"):
            raise TwilioError(400, 20001, "CallbackMethod must be GET or POST")
        status = body.get("Status")
        if status is not None and status not in ("ready", "active", "inactive"):
            raise TwilioError(400, 20001, f"Status must be ready, active or inactive, not {status!r}")
        plan = self._plan(ctx, body["Fleet"])[1] if body.get("Fleet") else None
        name = body.get("UniqueName")
        if name is not None and name.startswith("HS"):
            raise TwilioError(400, 20001, "A UniqueName cannot look like a Sim sid")
        asynchronous = False
        current = STATUS.get(card.state, "inactive")
        if status is not None:  # the rules decide, the current status included (a second stop is refused)
            if status == "ready":
                if current != "ready":  # only the carrier's test allowance is `ready`: not settable
                    raise TwilioError(409, 83010, f"The Super SIM cannot move from {current} to ready")
            elif status == "inactive":
                ctx.run("suspend", {"iccid": card.iccid})
            elif card.state in (State.READY, State.TESTING):
                ctx.run("activate", {"iccid": card.iccid})
            else:
                ctx.run("resume", {"iccid": card.iccid})
            # (a resumed manual stop may leave the SIM inactive for another reason — quota, arrears …: the
            # update still happened, and the SIM reads what the rules made of it)
            asynchronous = status != "ready"
        if plan is not None:  # the rules decide (back to the current Fleet while a change is pending …)
            ctx.run("change_plan", {"iccid": card.iccid, "plan": plan.code})
            asynchronous = True
        if name is not None:
            ctx.run("set_label", {"iccid": card.iccid, "key": UNIQUE_NAME, "value": name or None, "unique": True})
        if asynchronous:
            ctx.run("set_label", {"iccid": card.iccid, "key": SCHEDULED, "value": str(ctx.sim.now + 1)})
            if body.get("CallbackUrl"):
                self.pending.append({"account": ctx.caller, "iccid": card.iccid, "due": ctx.sim.now + 1,
                                     "url": body["CallbackUrl"], "method": method, "base": ctx.query[BASE],
                                     "world": ctx.state.keys.generation})
        return (202 if asynchronous else 200), self.sim_view(ctx, ctx.sim.card(card.iccid, ctx.caller))

    def billing_periods(self, ctx: "Ctx") -> dict[str, Any]:
        card = self._card(ctx, ctx.params["sid"])
        periods = []
        start = card.activated_at or (card.opened_at if card.state == State.TESTING else None)
        now = utc(ctx.sim.now)
        while start is not None and start < now:
            first = start.astimezone(timezone.utc)
            end = (first.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0,
                                                                      microsecond=0)
            kind = "active" if card.activated_at is not None and first >= card.activated_at else "ready"
            periods.append({"sid": "HB" + _hex("period", f"{card.iccid}:{iso(first)}"),
                            "account_sid": self._account_sid(ctx), "sim_sid": sim_sid(card.iccid),
                            "start_time": iso(first), "end_time": iso(end), "period_type": kind,
                            "date_created": iso(first), "date_updated": iso(first)})
            start = end
        return self._page(ctx, f"Sims/{ctx.params['sid']}/BillingPeriods", "billing_periods", periods, {})

    # ------------------------------------------------------------------ Fleets
    def list_fleets(self, ctx: "Ctx") -> dict[str, Any]:
        plans = [p for c in self.carriers for p in ctx.sim.plans(c)]
        return self._page(ctx, "Fleets", "fleets", [self.fleet_view(ctx, p) for p in plans], {})

    def fetch_fleet(self, ctx: "Ctx") -> dict[str, Any]:
        return self.fleet_view(ctx, self._plan(ctx, ctx.params["sid"])[1])

    # ------------------------------------------------------------------ UsageRecords
    def usage_records(self, ctx: "Ctx") -> dict[str, Any]:
        q = ctx.query
        granularity = q.get("Granularity", "all")
        if granularity not in ("hour", "day", "all"):
            raise TwilioError(400, 20001, "Granularity must be hour, day or all")
        now = ctx.sim.now  # by default up to the end of the current hour (usage is counted by the hour)
        end = _instant(q.get("EndTime"), "EndTime") if q.get("EndTime") else now - now % 3600 + 3600
        start = _instant(q.get("StartTime"), "StartTime") if q.get("StartTime") else \
            int((utc(end) - timedelta(days=30)).timestamp())
        if start >= end:
            raise TwilioError(400, 20001, "StartTime must be before EndTime")
        step = {"hour": 3600, "day": 86400}.get(granularity)
        if step is not None and (end - start) // step > 10_000:
            raise TwilioError(400, 20001, "Too many periods: narrow StartTime..EndTime or the Granularity")
        sim_ref, fleet_ref = q.get("Sim"), q.get("Fleet")
        if sim_ref:
            cards = [self._card(ctx, sim_ref)]
        else:
            cards = [c for carrier in self.carriers for c in ctx.sim.cards(ctx.caller, carrier=carrier)
                     if c.state != State.INVENTORY]
        fleet_code = self._plan(ctx, fleet_ref)[1].code if fleet_ref else None
        if fleet_code is not None:
            cards = [c for c in cards if c.plan == fleet_code]
        bounds = [start]
        if step is not None:
            first = start - start % step
            bounds = list(range(first, end, step))
        records = []
        for i, lo in enumerate(bounds):
            hi = end if step is None else min(lo + step, end)
            total = sum(ctx.sim.usage_kb(c.iccid, max(lo, start), hi) for c in cards) * 1024
            records.append({"account_sid": self._account_sid(ctx),
                            "sim_sid": sim_sid(cards[0].iccid) if sim_ref else None, "network_sid": None,
                            "fleet_sid": fleet_sid(fleet_code) if fleet_code else None, "iso_country": None,
                            "period": {"start_time": iso(utc(max(lo, start))), "end_time": iso(utc(hi))},
                            "data_upload": 0, "data_download": total, "data_total": total,
                            "data_total_billed": 0, "billed_unit": "USD"})
        filters = {k: q[k] for k in ("Sim", "Fleet", "Granularity", "StartTime", "EndTime") if k in q}
        return self._page(ctx, "UsageRecords", "usage_records", records, filters)

    # ------------------------------------------------------------------ test control: SIMs in stock
    def stock(self, ctx: "Ctx") -> tuple[int, dict[str, Any]]:
        """``POST /_sim/dialects/twilio/stock {"count": n}``: n unregistered SIMs of the dialect's carrier, with
        the registration codes printed on them."""
        count, carrier = ctx.body.get("count", 1), ctx.body.get("carrier", self.carriers[0])
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
            raise TwilioError(400, 20001, "count must be an integer from 1 to 10000")
        if carrier not in self.carriers:
            raise TwilioError(400, 20001, f"carrier must be one the dialect serves: {', '.join(self.carriers)}")
        iccids = ctx.run("add_inventory", {"carrier": carrier, "count": count})
        return 201, {"sims": [{"iccid": i, "registration_code": registration_code(i)} for i in iccids]}

    # ------------------------------------------------------------------ callbacks
    async def _deliver(self, state: "ServerState") -> None:
        """Call each CallbackUrl once its update has completed (the clock has passed it), in request order."""
        import aiohttp
        assert self._wake is not None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while True:
                await self._wake.wait()
                self._wake.clear()
                now = state.sim.now
                self.pending = [p for p in self.pending if p["world"] == state.keys.generation]  # a reset ends them
                due = [p for p in self.pending if p["due"] <= now]
                self.pending = [p for p in self.pending if p["due"] > now]
                for p in due:
                    try:
                        view = self._callback_view(state, p)
                        form = {k: v for k, v in view.items() if isinstance(v, str)}
                        if p["method"] == "GET":
                            await (await session.get(p["url"], params=form)).release()
                        else:
                            await (await session.post(p["url"], data=form)).release()
                    except Exception as exc:  # a receiver that is down misses its callback (as on Twilio)
                        log.info("callback to %s failed: %s", p["url"], exc)

    def _callback_view(self, state: "ServerState", p: dict[str, Any]) -> dict[str, Any]:
        from ..app import Ctx
        ctx = Ctx(state, p["account"], {}, {}, {BASE: p["base"]})
        return self.sim_view(ctx, state.sim.card(p["iccid"], p["account"]))


def _int(text: str, name: str, lo: int, hi: int) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise TwilioError(400, 20001, f"{name} must be an integer from {lo} to {hi}")
    return int(text)


def _instant(text: str, name: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TwilioError(400, 20001, f"{name} must be an ISO 8601 date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())
