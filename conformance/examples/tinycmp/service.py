"""TinyCMP — a small, in-memory SIM-management service in the style of a third-party vendor's platform.

This is an **example of a foreign API**: nothing in it follows carriersim's conventions, on purpose. It is what an
implementer typically has to put under carriersim's conformance scenarios, and ``adapter.py`` next to it shows how.

Its style, as a vendor would ship it:

* one JSON-RPC-like entry point, ``TinyCmp.call(method, params) -> {"ret": 0, "data": ...}`` or
  ``{"ret": 4021, "msg": "..."}`` with numeric error codes (see ``ERRORS``);
* cards keyed by **MSISDN**, owned by a customer (``cust_id``); another customer's card "does not exist" (4004);
* vendor status words ``INACTIVE`` / ``NORMAL`` / ``STOP`` / ``KEEP`` (停机保号) / ``CANCELLED`` and stop flags
  ``FLOW`` (over quota), ``OWE`` (arrears), ``EXPIRE``, ``USER`` (stopped by the customer);
* money in **fen** integers, data in **KB**, numeric plan and pack ids, times in **epoch seconds** (months are
  Beijing-time calendar months);
* an operation log with the bills in it (``card.records``; ``card.bills`` for the bills alone), one sequence
  number across all of them;
* test hooks no real carrier offers: ``admin.set_time`` (move the clock forward, running month starts on the way)
  and ``admin.inject_usage`` (traffic seen by the network).

What it implements (ids of /work/shared/RULES.md): monthly cycles with renewal from the balance (BILL-2), prepaid
orders (BILL-1), arrears stop and resume (BILL-4/5), quota stop and next-month resume (QUOTA-1/2), add-on packs
(QUOTA-3), overage billing without auto-stop (QUOTA-5), plan changes from next month, replace or withdraw
(PLAN-1/2), customers owning cards (PLAN-3), manual stop/resume (MAN-1), stacked stop flags (LIFE-2/3), expiry and
number keeping with a monthly fee and cancellation at the limit (EXP-1/2, RET-1/2/3), an operation log (LIFE-4).

What it does not have: pools, batch files, maintenance windows, carrier holds, real-name checks, device binding,
restricted regions, loss/swap, cancellation requests, refunds, test periods, usage alerts, early renewal.

Where it knowingly differs from the carriers' rules (see ``expectations.yaml``): it lifts an arrears stop as soon as
the balance is back to zero for every operator (China Telecom wants a 复机 request, BILL-5); it sends no usage
alerts (ALERT-1); it refuses to renew a plan that is still valid (no prepaid next term, QUOTA-4).
"""

from __future__ import annotations

import calendar
import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

BJT = timezone(timedelta(hours=8))  # China has no daylight saving: a fixed offset is Beijing time
MAX_RECHARGE = 10_000_000  # fen

ERRORS = {
    4000: "unknown method", 4001: "bad parameter", 4002: "customer not found", 4004: "card not found",
    4005: "plan not found", 4006: "pack not found", 4021: "balance not enough", 4030: "status does not allow this",
    4031: "plan change refused", 4032: "no plan change waiting", 4041: "card cannot be stopped now",
    4042: "card already stopped by user", 4043: "card not stopped by user", 4044: "card not stopped for arrears",
    4045: "pack not allowed now", 4046: "plan still valid, renewal not needed", 4060: "card cancelled",
    4081: "time cannot go back",
}


class TinyCmpError(Exception):
    def __init__(self, ret: int, msg: str = "", data: Any = None) -> None:
        super().__init__(msg or ERRORS.get(ret, "error"))
        self.ret, self.msg, self.data = ret, msg or ERRORS.get(ret, "error"), data


# ---------------------------------------------------------------------------------------------- Beijing calendar

def month_start(ts: int) -> int:
    d = datetime.fromtimestamp(ts, BJT)
    return int(datetime(d.year, d.month, 1, tzinfo=BJT).timestamp())


def add_months(ts: int, n: int) -> int:
    """The same Beijing wall-clock time ``n`` months later (the day clipped to the month's length)."""
    d = datetime.fromtimestamp(ts, BJT)
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def _luhn(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


# ---------------------------------------------------------------------------------------------- catalogue

OPERATORS = {"CMCC": ("00", "8", "cmcc"), "CUCC": ("01", "6", "cucc"), "CTCC": ("03", "9", "ctcc")}


def carrier_catalogue() -> dict[str, dict[str, Any]]:
    """TinyCMP resells the operators' own products under its own numeric ids, with the operator's product code
    (``op_code``) beside them. For this example the products, prices and number-keeping terms are read from
    carriersim's shipped profiles; a real vendor would load them from its product database."""
    from carriersim.simulator.profile import builtin_profile  # the example's one link to carriersim

    out: dict[str, dict[str, Any]] = {}
    for op, (_, _, carrier) in OPERATORS.items():
        raw = builtin_profile(carrier).raw
        fen = lambda cny: round(float(cny) * 100)  # noqa: E731 - catalogue prices have at most 2 decimals
        months = {"monthly": 1, "quarterly": 3, "annual": 12}
        base = {"CMCC": 10000, "CUCC": 20000, "CTCC": 30000}[op]
        plans = [{"plan_id": base + i + 1, "op_code": p["code"], "name": p["name"], "months": months[p["term"]],
                  "flow_kb": p["quota_mb"] * 1024, "flow_per": "MONTH" if p["quota_scope"] == "month" else "TERM",
                  "fee": fen(p["price"]), "over_fee": fen(p["overage_per_mb"])} for i, p in enumerate(raw["plans"])]
        packs = [{"pack_id": base + 501 + i, "op_code": a["code"], "name": a["name"], "flow_kb": a["quota_mb"] * 1024,
                  "fee": fen(a["price"])} for i, a in enumerate(raw["addons"])]
        out[op] = {"operator": op, "keep_months": raw["retention"]["months"],
                   "keep_fee": fen(raw["retention"]["monthly_fee"]), "plans": plans, "packs": packs}
    return out


# ---------------------------------------------------------------------------------------------- the service

@dataclass
class _Card:
    msisdn: str
    iccid: str
    imsi: str
    operator: str
    cust_id: str
    plan: dict[str, Any]
    stop_on_quota: bool
    auto_renew: bool
    open_time: int
    phase: str = "INACTIVE"  # INACTIVE | ACTIVE | CANCELLED; the status word also depends on the stop flags
    flags: set[str] = field(default_factory=set)
    balance: int = 0
    imei: str | None = None
    next_plan: dict[str, Any] | None = None
    next_plan_time: int | None = None
    term_start: int | None = None
    term_end: int | None = None
    active_time: int | None = None
    last_use_time: int | None = None
    expire_time: int | None = None
    keep_until: int | None = None
    cancel_time: int | None = None
    month: int = -1  # the month ``month_kb`` counts
    month_kb: int = 0
    period: Any = None  # the quota period ``period_kb``, ``pack_kb`` and ``over_mb`` count
    period_kb: int = 0
    pack_kb: int = 0
    over_mb: int = 0  # MB of overage already billed this period


FLAG_ORDER = ("FLOW", "OWE", "EXPIRE", "USER")


class TinyCmp:
    """The whole platform, in memory. ``now`` is the vendor clock (epoch seconds)."""

    def __init__(self, now: int, catalogue: dict[str, dict[str, Any]] | None = None) -> None:
        self.now = now
        self.catalogue = catalogue if catalogue is not None else carrier_catalogue()
        self.customers: dict[str, dict[str, str]] = {}
        self.cards: dict[str, _Card] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}  # per MSISDN: the operation log and the bills
        self.seq = 0

    # ------------------------------------------------------------------ the one entry point
    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        handler = getattr(self, "m_" + method.replace(".", "_"), None) if isinstance(method, str) else None
        if handler is None:
            return {"ret": 4000, "msg": f"unknown method {method!r}"}
        if params is not None and not isinstance(params, dict):
            return {"ret": 4001, "msg": "params must be an object"}
        try:
            return {"ret": 0, "data": handler(params or {})}
        except TinyCmpError as exc:
            out = {"ret": exc.ret, "msg": exc.msg}
            if exc.data is not None:
                out["data"] = exc.data
            return out

    # ------------------------------------------------------------------ parameters
    @staticmethod
    def _get(p: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
        if name not in p:
            if default is ...:
                raise TinyCmpError(4001, f"missing parameter {name}")
            return default
        value = p[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise TinyCmpError(4001, f"{name} must be an integer")
        if kind is bool and value not in (0, 1, True, False):
            raise TinyCmpError(4001, f"{name} must be 0 or 1")
        if kind is str and (not isinstance(value, str) or not value.strip()):
            raise TinyCmpError(4001, f"{name} must be a non-empty string")
        return bool(value) if kind is bool else value

    def _card(self, p: dict[str, Any]) -> _Card:
        card = self.cards.get(self._get(p, "msisdn", str))
        if card is None or card.cust_id != self._get(p, "cust_id", str):
            raise TinyCmpError(4004, f"card {p['msisdn']} not found")
        return card

    @staticmethod
    def _alive(card: _Card) -> None:
        if card.phase == "CANCELLED":
            raise TinyCmpError(4060, f"card {card.msisdn} is cancelled")

    # ------------------------------------------------------------------ the bookkeeping every rule goes through
    def _log(self, card: _Card, type_: str, by: str = "API", **info: Any) -> None:
        self.seq += 1
        self.records[card.msisdn].append({"seq": self.seq, "time": self.now, "type": type_, "by": by, **info})

    def status(self, card: _Card) -> str:
        if card.phase != "ACTIVE":
            return card.phase
        if not card.flags:
            return "NORMAL"
        keep = self.catalogue[card.operator]["keep_months"] > 0
        return "KEEP" if "EXPIRE" in card.flags and keep else "STOP"

    def _set(self, card: _Card, by: str, add: set[str] = frozenset(), clear: set[str] = frozenset(),
             phase: str | None = None, **info: Any) -> None:
        """Stop flags stack: a card runs again only when no flag is left (LIFE-2/3). Every change is logged."""
        before, old_flags, old_phase = self.status(card), set(card.flags), card.phase
        card.flags = (card.flags | set(add)) - set(clear)
        card.phase = phase or card.phase
        added, cleared = card.flags - old_flags, old_flags - card.flags
        if added or cleared or card.phase != old_phase:
            self._log(card, "STATUS", by, old=None if old_phase == "NEW" else before, new=self.status(card),
                      flags=sorted(added or cleared, key=FLAG_ORDER.index),
                      op="SET" if added else "CLEAR" if cleared else "NONE", **info)

    def _money(self, card: _Card, fee: int, item: str, by: str = "API", **info: Any) -> None:
        """Post a bill (``fee`` > 0 in, < 0 out). BILL-4: below zero the card stops for OWE; TinyCMP lifts OWE as
        soon as the balance is back to zero or more, for every operator."""
        card.balance += fee
        self.seq += 1
        self.records[card.msisdn].append({"seq": self.seq, "time": self.now, "type": "IN" if fee > 0 else "OUT",
                                          "by": by, "fee": abs(fee), "item": item, "balance": card.balance,
                                          **info})
        if card.balance < 0 and "OWE" not in card.flags and card.phase != "CANCELLED":
            self._set(card, by, add={"OWE"})
        elif card.balance >= 0 and "OWE" in card.flags:
            self._set(card, by, clear={"OWE"})

    def _roll(self, card: _Card) -> None:
        """Usage counters belong to a month (``month_kb``) and a quota period (the month, or the plan's term)."""
        month = month_start(self.now)
        if card.month != month:
            card.month, card.month_kb = month, 0
        period = ("M", month) if card.plan["flow_per"] == "MONTH" else ("T", card.term_start)
        if card.period != period:
            card.period, card.period_kb, card.pack_kb, card.over_mb = period, 0, 0, 0

    def _left_kb(self, card: _Card) -> int:
        self._roll(card)
        return max(card.plan["flow_kb"] + card.pack_kb - card.period_kb, 0)

    def _plan(self, operator: str, plan_id: Any) -> dict[str, Any]:
        for plan in self.catalogue[operator]["plans"]:
            if plan["plan_id"] == plan_id:
                return plan
        raise TinyCmpError(4005, f"{operator} has no plan {plan_id}")

    def _start_term(self, card: _Card) -> None:
        """Terms run in natural months: the month the term starts in counts as its first month."""
        card.term_start = self.now
        card.term_end = add_months(month_start(self.now), card.plan["months"])

    # ------------------------------------------------------------------ catalogue and customers
    def m_catalog_operators(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k not in ("plans", "packs")} for c in self.catalogue.values()]

    def m_catalog_plans(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._operator(p)["plans"])

    def m_catalog_packs(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._operator(p)["packs"])

    def _operator(self, p: dict[str, Any]) -> dict[str, Any]:
        op = self._get(p, "operator", str)
        if op not in self.catalogue:
            raise TinyCmpError(4001, f"unknown operator {op}")
        return self.catalogue[op]

    def m_cust_create(self, p: dict[str, Any]) -> dict[str, Any]:
        name, type_ = self._get(p, "name", str).strip(), self._get(p, "type", str)
        if type_ not in ("ENT", "PER"):
            raise TinyCmpError(4001, "type must be ENT or PER")
        cust_id = f"C{len(self.customers) + 1:05d}"
        self.customers[cust_id] = {"cust_id": cust_id, "name": name, "type": type_}
        return {"cust_id": cust_id}

    # ------------------------------------------------------------------ cards
    def m_card_open(self, p: dict[str, Any]) -> dict[str, Any]:
        """Sell a card with a paid plan (BILL-1): ``pay`` (fen, default the plan's fee) below the fee is refused
        and nothing is created."""
        cust_id = self._get(p, "cust_id", str)
        if cust_id not in self.customers:
            raise TinyCmpError(4002, f"customer {cust_id} not found")
        operator = self._operator(p)["operator"]
        plan = self._plan(operator, self._get(p, "plan_id", int))
        pay = self._get(p, "pay", int, plan["fee"])
        if pay < 0:
            raise TinyCmpError(4001, "pay cannot be negative")
        if pay < plan["fee"]:
            raise TinyCmpError(4021, f"plan {plan['plan_id']} costs {plan['fee']} fen, only {pay} fen paid")
        stop, renew = self._get(p, "stop_on_quota", bool, True), self._get(p, "auto_renew", bool, True)
        iccid_code, msisdn_digit, _ = OPERATORS[operator]
        n = len(self.cards) + 1
        body = f"8986{iccid_code}{n:013d}"
        card = _Card(msisdn=f"1064{msisdn_digit}{n:08d}", iccid=body + _luhn(body), imsi=f"460{iccid_code}{n:010d}",
                     operator=operator, cust_id=cust_id, plan=plan, stop_on_quota=stop, auto_renew=renew,
                     open_time=self.now, phase="NEW")
        self.cards[card.msisdn] = card
        self.records[card.msisdn] = []
        self._log(card, "OPEN", plan_id=plan["plan_id"], stop_on_quota=stop, auto_renew=renew)
        self._set(card, "API", phase="INACTIVE")
        self._money(card, pay, "OPEN_PAY")
        self._money(card, -plan["fee"], f"PLAN:{plan['plan_id']}")
        return {"msisdn": card.msisdn, "iccid": card.iccid, "imsi": card.imsi}

    def m_card_activate(self, p: dict[str, Any]) -> dict[str, Any]:
        card = self._card(p)
        imei = self._get(p, "imei", str, None)
        if imei is not None and not (len(imei) == 15 and imei.isdigit()):
            raise TinyCmpError(4001, "imei must be 15 digits")
        if card.phase != "INACTIVE":
            raise TinyCmpError(4030, f"card {card.msisdn} is {self.status(card)}, only INACTIVE cards activate")
        card.imei, card.active_time = imei, self.now  # the IMEI is recorded, not enforced: no device binding
        self._start_term(card)
        self._set(card, "API", phase="ACTIVE")
        return {}

    def m_card_info(self, p: dict[str, Any]) -> dict[str, Any]:
        card = self._card(p)
        self._roll(card)
        nxt = card.next_plan
        return {"msisdn": card.msisdn, "iccid": card.iccid, "imsi": card.imsi, "operator": card.operator,
                "cust_id": card.cust_id, "status": self.status(card),
                "stop_flags": sorted(card.flags, key=FLAG_ORDER.index), "plan_id": card.plan["plan_id"],
                "next_plan_id": nxt["plan_id"] if nxt else None, "next_plan_time": card.next_plan_time,
                "term_start": card.term_start, "term_end": card.term_end, "balance": card.balance,
                "stop_on_quota": int(card.stop_on_quota), "auto_renew": int(card.auto_renew), "imei": card.imei,
                "month_kb": card.month_kb, "period_kb": card.period_kb, "pack_kb": card.pack_kb,
                "flow_kb": card.plan["flow_kb"], "open_time": card.open_time, "active_time": card.active_time,
                "last_use_time": card.last_use_time, "expire_time": card.expire_time,
                "keep_until": card.keep_until if "EXPIRE" in card.flags else None, "cancel_time": card.cancel_time,
                "cancel_why": "KEEP_LIMIT" if card.cancel_time is not None else None}

    def m_card_records(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """The operation log and the bills of a card, in the order they happened."""
        return copy.deepcopy(self.records[self._card(p).msisdn])

    def m_card_bills(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in self.m_card_records(p) if r["type"] in ("IN", "OUT")]

    def m_card_recharge(self, p: dict[str, Any]) -> dict[str, Any]:
        card, fee = self._card(p), self._get(p, "fee", int)
        if not 0 < fee <= MAX_RECHARGE:
            raise TinyCmpError(4001, f"fee must be between 1 and {MAX_RECHARGE} fen")
        self._alive(card)
        self._money(card, fee, "RECHARGE")
        return {"balance": card.balance, "bill_seq": self.seq}

    def m_card_set_renew(self, p: dict[str, Any]) -> dict[str, Any]:
        card, on = self._card(p), self._get(p, "on", bool)
        self._alive(card)
        if card.auto_renew != on:
            card.auto_renew = on
            self._log(card, "RENEW_SET", on=on)
        return {}

    def m_card_buy_pack(self, p: dict[str, Any]) -> dict[str, Any]:
        """QUOTA-3: a pack adds quota to the current period and lifts FLOW at once; it is paid from the balance."""
        card, pack_id = self._card(p), self._get(p, "pack_id", int)
        pack = next((k for k in self.catalogue[card.operator]["packs"] if k["pack_id"] == pack_id), None)
        if pack is None:
            raise TinyCmpError(4006, f"{card.operator} has no pack {pack_id}")
        self._alive(card)
        if card.phase != "ACTIVE" or "EXPIRE" in card.flags:
            raise TinyCmpError(4045, f"card {card.msisdn} is {self.status(card)}; packs need a valid plan")
        if card.balance < pack["fee"]:
            raise TinyCmpError(4021, f"pack {pack_id} costs {pack['fee']} fen, balance {card.balance} fen")
        self._roll(card)
        self._money(card, -pack["fee"], f"PACK:{pack_id}")
        card.pack_kb += pack["flow_kb"]
        if "FLOW" in card.flags and self._left_kb(card) > 0:
            self._set(card, "API", clear={"FLOW"})
        return {}

    def m_card_renew(self, p: dict[str, Any]) -> dict[str, Any]:
        """EXP-2: renewing an expired card (within the keep period) restores it at once. A valid plan cannot be
        renewed early (4046)."""
        card = self._card(p)
        self._alive(card)
        if card.term_end is None:
            raise TinyCmpError(4030, f"card {card.msisdn} is not activated; its first term is paid")
        if card.balance < card.plan["fee"]:
            raise TinyCmpError(4021, f"renewal costs {card.plan['fee']} fen, balance {card.balance} fen")
        if "EXPIRE" not in card.flags:
            raise TinyCmpError(4046, f"the plan of {card.msisdn} runs until {card.term_end}")
        self._money(card, -card.plan["fee"], f"PLAN:{card.plan['plan_id']}")
        self._start_term(card)
        card.expire_time = card.keep_until = None
        self._log(card, "RENEW", plan_id=card.plan["plan_id"], restored=True)
        lift = {"EXPIRE"} | ({"FLOW"} if "FLOW" in card.flags and self._left_kb(card) > 0 else set())
        self._set(card, "API", clear=lift)
        return {"result": "restored"}

    def m_card_stop(self, p: dict[str, Any]) -> dict[str, Any]:
        """MAN-1: a customer may stop a card only while its plan is valid, without arrears, not over quota."""
        card = self._card(p)
        self._alive(card)
        if card.phase != "ACTIVE":
            raise TinyCmpError(4030, f"card {card.msisdn} is {self.status(card)}; only activated cards stop")
        if "USER" in card.flags:
            raise TinyCmpError(4042, f"card {card.msisdn} is already stopped by the user")
        blocking = [f for f in ("EXPIRE", "OWE", "FLOW") if f in card.flags or (f == "OWE" and card.balance < 0)]
        if blocking:
            raise TinyCmpError(4041, f"card {card.msisdn} cannot be stopped: {', '.join(blocking)}",
                               {"flags": blocking})
        self._set(card, "API", add={"USER"})
        return {}

    def m_card_start(self, p: dict[str, Any]) -> dict[str, Any]:
        card = self._card(p)
        self._alive(card)
        if "USER" not in card.flags:
            raise TinyCmpError(4043, f"card {card.msisdn} was not stopped by the user")
        self._set(card, "API", clear={"USER"})
        return {}

    def m_card_restore(self, p: dict[str, Any]) -> dict[str, Any]:
        """复机: lift OWE once the balance is paid back (TinyCMP also does it by itself on payment)."""
        card = self._card(p)
        self._alive(card)
        if "OWE" not in card.flags:
            raise TinyCmpError(4044, f"card {card.msisdn} is not stopped for arrears")
        if card.balance < 0:
            raise TinyCmpError(4021, f"card {card.msisdn} still owes {-card.balance} fen")
        self._set(card, "API", clear={"OWE"})
        return {}

    # ------------------------------------------------------------------ plan changes
    def m_plan_change(self, p: dict[str, Any]) -> dict[str, Any]:
        """PLAN-1: the new plan starts with next month, never now; PLAN-2: a new request replaces a waiting one.
        The balance must already cover the new plan (BILL-1); it is charged when the plan starts."""
        card = self._card(p)
        plan = self._plan(card.operator, self._get(p, "plan_id", int))
        self._alive(card)
        if "EXPIRE" in card.flags:
            raise TinyCmpError(4031, f"card {card.msisdn} has expired; renew it instead")
        if plan["plan_id"] == card.plan["plan_id"]:
            raise TinyCmpError(4031, f"card {card.msisdn} is already on plan {plan['plan_id']}")
        if card.balance < plan["fee"]:
            raise TinyCmpError(4021, f"plan {plan['plan_id']} costs {plan['fee']} fen, balance {card.balance} fen")
        replaced = card.next_plan["plan_id"] if card.next_plan else None
        card.next_plan, card.next_plan_time = plan, add_months(month_start(self.now), 1)
        self._log(card, "PLAN_REQ", old=card.plan["plan_id"], new=plan["plan_id"], effect=card.next_plan_time,
                  replaces=replaced)
        return {"effect_time": card.next_plan_time}

    def m_plan_cancel_change(self, p: dict[str, Any]) -> dict[str, Any]:
        card = self._card(p)
        if card.next_plan is None:
            raise TinyCmpError(4032, f"card {card.msisdn} has no plan change waiting")
        self._log(card, "PLAN_UNDO", plan_id=card.next_plan["plan_id"])
        card.next_plan = card.next_plan_time = None
        return {}

    # ------------------------------------------------------------------ test hooks
    def m_admin_time(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"now": self.now}

    def m_admin_set_time(self, p: dict[str, Any]) -> dict[str, Any]:
        """Move the clock forward to ``ts``, running every month start on the way."""
        ts = self._get(p, "ts", int)
        if ts < self.now:
            raise TinyCmpError(4081, f"it is {self.now}; {ts} is earlier")
        while (nxt := add_months(month_start(self.now), 1)) <= ts:
            self.now = nxt
            self._month_start()
        self.now = ts
        return {"now": self.now}

    def m_admin_inject_usage(self, p: dict[str, Any]) -> dict[str, Any]:
        """Traffic seen by the network (QUOTA-1, QUOTA-5). Never an error for a stopped card: the answer says how
        much was carried (``used``) and why the rest was dropped."""
        card = self.cards.get(self._get(p, "msisdn", str))
        if card is None:
            raise TinyCmpError(4004, f"card {p['msisdn']} not found")
        kb = self._get(p, "kb", int)
        if kb < 0:
            raise TinyCmpError(4001, "kb cannot be negative")
        used, cause = self._use(card, kb)
        return {"used": used, "dropped": kb - used, "drop_cause": cause, "status": self.status(card),
                "stop_flags": sorted(card.flags, key=FLAG_ORDER.index)}

    def _use(self, card: _Card, kb: int) -> tuple[int, str | None]:
        if card.phase != "ACTIVE":
            return 0, "NOT_ACTIVE"
        if card.flags:
            return 0, "STOPPED" if kb else None
        if not kb:
            return 0, None
        self._roll(card)
        quota = card.plan["flow_kb"] + card.pack_kb
        used = min(kb, max(quota - card.period_kb, 0)) if card.stop_on_quota else kb
        card.period_kb += used
        card.month_kb += used
        if used:
            card.last_use_time = self.now
        if card.stop_on_quota and card.period_kb >= quota:
            self._set(card, "NETWORK", add={"FLOW"})
        over_kb = card.period_kb - quota
        if not card.stop_on_quota and over_kb > 0:  # QUOTA-5: every started MB past the quota, at the plan's rate
            started = -(-over_kb // 1024)
            if started > card.over_mb:
                new, card.over_mb = started - card.over_mb, started
                self._money(card, -new * card.plan["over_fee"], "OVERFLOW", "NETWORK", qty_mb=new)
        return used, None if used == kb else "NO_FLOW"

    # ------------------------------------------------------------------ the month start (BILL-2)
    def _month_start(self) -> None:
        for card in self.cards.values():
            if card.phase == "CANCELLED":
                continue
            if "EXPIRE" in card.flags and card.keep_until is not None and card.keep_until <= self.now:
                self._cancel(card)  # RET-2: kept longer than the operator allows: the number is gone
                continue
            self._apply_plan_change(card)  # PLAN-1
            if "EXPIRE" in card.flags:  # RET-1: a kept number pays its monthly fee, even into arrears
                self._money(card, -self.catalogue[card.operator]["keep_fee"], "KEEP_FEE", "SYSTEM")
            elif card.term_end == self.now:
                self._end_term(card)
            if "FLOW" in card.flags and self._left_kb(card) > 0:  # QUOTA-2
                self._set(card, "SYSTEM", clear={"FLOW"})

    def _apply_plan_change(self, card: _Card) -> None:
        plan = card.next_plan
        if plan is None:
            return
        card.next_plan = card.next_plan_time = None
        why = "EXPIRED" if "EXPIRE" in card.flags else "BALANCE" if card.balance < plan["fee"] else None
        if why:
            self._log(card, "PLAN_FAIL", "SYSTEM", plan_id=plan["plan_id"], why=why)
            return
        old, card.plan = card.plan, plan
        self._money(card, -plan["fee"], f"PLAN:{plan['plan_id']}", "SYSTEM")
        if card.term_start is not None:
            self._start_term(card)
        self._log(card, "PLAN_DONE", "SYSTEM", old=old["plan_id"], new=plan["plan_id"])

    def _end_term(self, card: _Card) -> None:
        """BILL-2: renew from the balance; otherwise the plan expires (EXP-1) and the number is kept (RET-1)."""
        if card.auto_renew and card.balance >= card.plan["fee"]:
            self._money(card, -card.plan["fee"], f"PLAN:{card.plan['plan_id']}", "SYSTEM")
            self._start_term(card)
            self._log(card, "RENEW", "SYSTEM", plan_id=card.plan["plan_id"])
            return
        months = self.catalogue[card.operator]["keep_months"]
        why = "RENEW_OFF" if not card.auto_renew else "BALANCE"
        card.expire_time, card.keep_until = self.now, add_months(self.now, months)
        self._log(card, "EXPIRE", "SYSTEM", plan_id=card.plan["plan_id"], why=why)
        self._set(card, "SYSTEM", add={"EXPIRE"})
        if months == 0:
            self._cancel(card)
        else:
            self._money(card, -self.catalogue[card.operator]["keep_fee"], "KEEP_FEE", "SYSTEM")

    def _cancel(self, card: _Card) -> None:
        card.cancel_time, card.next_plan, card.next_plan_time = self.now, None, None
        self._set(card, "SYSTEM", phase="CANCELLED", why="KEEP_LIMIT")
        card.imei = None  # the number is gone: what TinyCMP knew of the device goes with it
        self._log(card, "ERASE", "SYSTEM")
