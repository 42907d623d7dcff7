"""``TinyCmpTarget``: the conformance harness's ``Target`` protocol over TinyCMP, a vendor API that shares nothing
with carriersim but the problem it solves. Copy this file to start an adapter for your own system.

An adapter is a translator, never a second implementation: every rule is decided by the system under test, and
the adapter only converts names, units and shapes. What it converts here:

====================  =====================================  =====================================
carriersim            TinyCMP                                where
====================  =====================================  =====================================
ICCID                 MSISDN (cards are keyed by number)     ``_msisdn`` (learnt when a card opens)
account handle        ``cust_id``                            passed through
state / reasons       status word / stop flags               ``STATES``, ``REASONS``
plan / add-on code    numeric ``plan_id`` / ``pack_id``      the vendor's ``op_code`` field
"5.00" CNY text       fen integers                           ``fen()``, ``cny()``
MB (3 decimals)       KB integers                            ``mb()``
ISO-8601, carrier TZ  epoch seconds                          ``ts()``, ``iso()``
refusal code          numeric ``ret``                        ``REFUSALS``
Event / LedgerEntry   operation records and bills            ``history()``, ``ledger()``
====================  =====================================  =====================================

``capabilities`` lists only what TinyCMP really has; the runner reports every scenario needing anything else as
*not applicable*, and the unsupported methods below raise ``TargetError`` should they ever be called.
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from zoneinfo import ZoneInfo

from carriersim.scenarios.target import Refused, TargetError
from carriersim.simulator.profile import builtin_profile

from .service import TinyCmp

ZONE = ZoneInfo("Asia/Shanghai")  # TinyCMP's months are Beijing months, like the three carriers' cycles

#: TinyCMP's numeric errors → the stable refusal codes scenarios expect (those of simulator/rules/*.py).
REFUSALS = {
    4001: "invalid_input", 4002: "account_not_found", 4004: "card_not_found", 4005: "plan_not_found",
    4006: "addon_not_found", 4021: "insufficient_balance", 4030: "invalid_state", 4031: "plan_change_not_allowed",
    4032: "no_pending_change", 4041: "manual_suspend_not_allowed", 4042: "already_suspended",
    4043: "not_manually_suspended", 4044: "not_in_arrears", 4045: "addon_not_allowed",
    4046: "renewal_not_allowed",  # no carriersim equivalent: carriersim accepts an early renewal (QUOTA-4)
    4060: "card_cancelled", 4081: "clock_backwards",
}
STATES = {None: "inventory", "INACTIVE": "ready", "NORMAL": "active", "STOP": "suspended", "KEEP": "retained",
          "CANCELLED": "cancelled"}
REASONS = {"FLOW": "quota", "OWE": "arrears", "EXPIRE": "expired", "USER": "manual"}
CAUSES = {"API": "api", "SYSTEM": "clock", "NETWORK": "usage"}
DROPPED = {None: None, "NOT_ACTIVE": "not_in_service", "STOPPED": "suspended", "NO_FLOW": "quota"}
TERMS = {1: "monthly", 3: "quarterly", 12: "annual"}
MONEY_KINDS = {"IN": "payment", "OUT": "charge"}
RECORD_KINDS = {"OPEN": "card_opened", "RENEW": "renewed", "EXPIRE": "expired", "PLAN_REQ": "plan_change_requested",
                "PLAN_UNDO": "plan_change_withdrawn", "PLAN_DONE": "plan_change_applied",
                "PLAN_FAIL": "plan_change_failed", "RENEW_SET": "auto_renew_set", "ERASE": "data_wiped"}
WHY = {"BALANCE": "insufficient_balance", "RENEW_OFF": "auto_renew_off", "KEEP_LIMIT": "retention_expired",
       "EXPIRED": "expired"}


# ---------------------------------------------------------------------------------------------- units
def fen(cny: str | int | float | Decimal) -> int:
    try:
        value = Decimal(str(cny)) * 100
    except InvalidOperation:
        raise Refused("invalid_input", f"{cny!r} is not an amount of CNY", 422) from None
    if not value.is_finite() or value != value.to_integral_value():
        raise Refused("invalid_input", f"{cny!r} is not a whole number of fen", 422)
    return int(value)


def cny(fen_: int) -> str:
    return f"{'-' if fen_ < 0 else ''}{abs(fen_) // 100}.{abs(fen_) % 100:02d}"


def signed(bill: dict[str, Any]) -> int:
    """TinyCMP bills carry a positive fee and a direction; carriersim's money is signed."""
    return bill["fee"] if bill["type"] == "IN" else -bill["fee"]


def mb(kb: int) -> float:
    return round(kb / 1024, 3)


def ts(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=ZONE)).timestamp())


def iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, ZONE).isoformat()


class TinyCmpTarget:
    name = "tinycmp"
    capabilities = frozenset({"time_travel", "usage", "history", "ledger", "accounts"})

    def __init__(self, service_factory: Callable[[int], TinyCmp] = TinyCmp) -> None:
        self._factory = service_factory
        self.service = service_factory(ts("2027-01-01T00:00:00+08:00"))
        self._msisdn: dict[str, str] = {}
        self._products: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}  # carrier → plans, packs
        self._codes: dict[tuple[str, int], str] = {}  # ("PLAN" | "PACK", vendor id) → the operator's code

    # ---------------------------------------------------------------- the wire
    def _call(self, method: str, **params: Any) -> Any:
        answer = self.service.call(method, params)
        ret = answer.get("ret")
        if ret == 0:
            return answer.get("data")
        if ret in REFUSALS:
            raise Refused(REFUSALS[ret], str(answer.get("msg", "")), None)
        raise TargetError(f"TinyCMP {method} answered ret={ret}: {answer.get('msg')}")

    def _card_call(self, method: str, account: str, iccid: str, **params: Any) -> Any:
        return self._call(method, cust_id=account, msisdn=self._number(iccid), **params)

    def _number(self, iccid: str) -> str:
        if iccid not in self._msisdn:
            raise Refused("card_not_found", f"No card {iccid!r} was found.", 404)
        return self._msisdn[iccid]

    @staticmethod
    def _unsupported(what: str, capability: str) -> TargetError:
        return TargetError(f"TinyCMP has no {what}; the target does not declare {capability!r}, so the runner "
                           "should not have asked")

    # ---------------------------------------------------------------- test control
    def reset(self, *, start: str, seed: int) -> None:
        self.service = self._factory(ts(start))  # TinyCMP is deterministic: the seed has nothing to choose
        self._msisdn.clear()

    def now(self) -> str:
        return iso(self._call("admin.time")["now"])

    def advance(self, to: str) -> None:
        self._call("admin.set_time", ts=ts(to))

    def report_usage(self, iccid: str, *, kb: int, region: str | None = None,
                     imei: str | None = None) -> dict[str, Any]:
        # TinyCMP knows neither restricted regions nor device binding: region and IMEI are not passed on
        got = self._call("admin.inject_usage", msisdn=self._number(iccid), kb=kb)
        return {"iccid": iccid, "accepted_kb": got["used"], "refused_kb": got["dropped"],
                "refused_because": DROPPED[got["drop_cause"]], "state": STATES[got["status"]],
                "reasons": [REASONS[f] for f in got["stop_flags"]]}

    def start_maintenance(self, carrier: str, *, until: str, stop_cards: bool = True) -> None:
        raise self._unsupported("maintenance windows", "maintenance")

    def end_maintenance(self, carrier: str) -> None:
        raise self._unsupported("maintenance windows", "maintenance")

    def carrier_bar(self, iccid: str, note: str = "") -> None:
        raise self._unsupported("carrier holds", "carrier_control")

    def carrier_release(self, iccid: str) -> None:
        raise self._unsupported("carrier holds", "carrier_control")

    # ---------------------------------------------------------------- catalogue
    def carriers(self) -> list[str]:
        return [op["operator"].lower() for op in self._call("catalog.operators")]

    def profile(self, carrier: str) -> dict[str, Any]:
        """The carrier's shipped profile, with the terms TinyCMP itself applies laid over it (number keeping).
        Rules TinyCMP does not follow (e.g. China Telecom's ``arrears.auto_resume: false``) keep the carrier's
        value: the scenarios must judge TinyCMP by the carrier's rules, not by its own."""
        raw = copy.deepcopy(builtin_profile(carrier).raw)
        op = next(o for o in self._call("catalog.operators") if o["operator"] == carrier.upper())
        raw["retention"] = {"months": op["keep_months"], "monthly_fee": cny(op["keep_fee"])}
        raw["plans"] = [{k: v for k, v in p.items() if k not in ("carrier", "term_months")}
                        for p in self.plans(carrier)]
        raw["addons"] = self.addons(carrier)
        return raw

    def _vendor_plans(self, carrier: str) -> list[dict[str, Any]]:
        return self._catalogue()[carrier][0]

    def _vendor_packs(self, carrier: str) -> list[dict[str, Any]]:
        return self._catalogue()[carrier][1]

    def _catalogue(self) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """TinyCMP's products per carrier, read once (the catalogue is static), and the code of every plan and pack
        id: TinyCMP resells the operators' products, and ``op_code`` is the operator's own product code."""
        if not self._products:
            for carrier in self.carriers():
                plans = self._call("catalog.plans", operator=carrier.upper())
                packs = self._call("catalog.packs", operator=carrier.upper())
                self._products[carrier] = (plans, packs)
                self._codes.update({("PLAN", p["plan_id"]): p["op_code"] for p in plans})
                self._codes.update({("PACK", a["pack_id"]): a["op_code"] for a in packs})
        return self._products

    def plans(self, carrier: str) -> list[dict[str, Any]]:
        return [{"code": p["op_code"], "name": p["name"], "carrier": carrier, "term": TERMS[p["months"]],
                 "term_months": p["months"], "quota_mb": p["flow_kb"] // 1024,
                 "quota_scope": "month" if p["flow_per"] == "MONTH" else "term", "price": cny(p["fee"]),
                 "overage_per_mb": cny(p["over_fee"])} for p in self._vendor_plans(carrier)]

    def addons(self, carrier: str) -> list[dict[str, Any]]:
        return [{"code": a["op_code"], "name": a["name"], "quota_mb": a["flow_kb"] // 1024, "price": cny(a["fee"])}
                for a in self._vendor_packs(carrier)]

    def _product_id(self, carrier: str, code: str, kind: str) -> int:
        """The vendor id of the plan (``kind`` "plan") or add-on ("addon") with this operator code."""
        plan = kind == "plan"
        for p in self._vendor_plans(carrier) if plan else self._vendor_packs(carrier):
            if p["op_code"] == code:
                return p["plan_id" if plan else "pack_id"]
        raise Refused(f"{kind}_not_found", f"{carrier} has no {'plan' if plan else 'add-on'} {code!r}.", 404)

    def _code(self, kind: str, product_id: int | None) -> str | None:
        self._catalogue()
        return None if product_id is None else self._codes.get((kind, product_id), f"{kind}:{product_id}")

    # ---------------------------------------------------------------- operations
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str:
        # TinyCMP has no real-name data: ``verified`` and ``id_number`` have nowhere to go
        vendor_type = {"enterprise": "ENT", "personal": "PER"}.get(kind, kind)
        return self._call("cust.create", name=name, type=vendor_type)["cust_id"]

    def open_card(self, account: str, carrier: str, plan: str, *, payment: str | None = None,
                  auto_suspend: bool = True, auto_renew: bool = True, testing: bool = False) -> str:
        if testing:
            raise self._unsupported("test period", "testing_state")
        params: dict[str, Any] = {"cust_id": account, "operator": carrier.upper(),
                                  "plan_id": self._product_id(carrier, plan, "plan"),
                                  "stop_on_quota": int(auto_suspend), "auto_renew": int(auto_renew)}
        if payment is not None:
            params["pay"] = fen(payment)
        card = self._call("card.open", **params)
        self._msisdn[card["iccid"]] = card["msisdn"]
        return card["iccid"]

    def activate(self, account: str, iccid: str, imei: str | None = None) -> None:
        self._card_call("card.activate", account, iccid, **({"imei": imei} if imei else {}))

    def change_plan(self, account: str, iccid: str, plan: str) -> str:
        carrier = self.card(account, iccid)["carrier"]
        answer = self._card_call("plan.change", account, iccid, plan_id=self._product_id(carrier, plan, "plan"))
        return iso(answer["effect_time"])

    def withdraw_plan_change(self, account: str, iccid: str) -> None:
        self._card_call("plan.cancel_change", account, iccid)

    def top_up(self, account: str, iccid: str, amount: str) -> dict[str, Any]:
        answer = self._card_call("card.recharge", account, iccid, fee=fen(amount))
        return {"payment": answer["bill_seq"], "card": self.card(account, iccid)}

    def buy_addon(self, account: str, iccid: str, addon: str) -> None:
        carrier = self.card(account, iccid)["carrier"]
        self._card_call("card.buy_pack", account, iccid, pack_id=self._product_id(carrier, addon, "addon"))

    def renew(self, account: str, iccid: str) -> dict[str, Any]:
        answer = self._card_call("card.renew", account, iccid)
        return {"result": answer["result"], "card": self.card(account, iccid)}

    def reactivate(self, account: str, iccid: str) -> None:
        self._card_call("card.restore", account, iccid)

    def suspend(self, account: str, iccid: str) -> None:
        self._card_call("card.stop", account, iccid)

    def resume(self, account: str, iccid: str) -> None:
        self._card_call("card.start", account, iccid)

    def set_auto_renew(self, account: str, iccid: str, enabled: bool) -> None:
        self._card_call("card.set_renew", account, iccid, on=enabled)

    # Real-name verification, device binding, regions, loss and swap, cancellation, refunds, batch files and pools:
    # TinyCMP has none of them. No method is written for them, so ``carriersim.scenarios.target.perform`` answers
    # that the target lacks the operation; the capabilities above keep the runner from asking.

    # ---------------------------------------------------------------- observations
    def card(self, account: str, iccid: str) -> dict[str, Any]:
        """TinyCMP's ``card.info`` in the native ``Card`` shape. Fields for features TinyCMP lacks carry their
        neutral value (no binding: no device changes; no real-name checks: every card counts as verified)."""
        c = self._card_call("card.info", account, iccid)
        pending = None
        if c["next_plan_id"] is not None:
            pending = {"plan": self._code("PLAN", c["next_plan_id"]), "effective_at": iso(c["next_plan_time"])}
        quota_kb = c["flow_kb"] + c["pack_kb"]
        return {
            "iccid": c["iccid"], "imsi": c["imsi"], "msisdn": c["msisdn"], "carrier": c["operator"].lower(),
            "account": c["cust_id"], "state": STATES[c["status"]], "reasons": [REASONS[f] for f in c["stop_flags"]],
            "plan": self._code("PLAN", c["plan_id"]), "pending_change": pending,
            "term_start": iso(c["term_start"]), "term_end": iso(c["term_end"]), "prepaid_terms": 0,
            "balance": cny(c["balance"]), "auto_suspend": bool(c["stop_on_quota"]),
            "auto_renew": bool(c["auto_renew"]), "imei": c["imei"], "device_changes": 0, "verified": True,
            "usage": {"cycle_mb": mb(c["month_kb"]), "quota_used_mb": mb(c["period_kb"]),
                      "addon_mb": mb(c["pack_kb"]), "quota_mb": mb(quota_kb)},
            "opened_at": iso(c["open_time"]), "activated_at": iso(c["active_time"]),
            "last_used_at": iso(c["last_use_time"]), "expired_at": iso(c["expire_time"]),
            "retention_until": iso(c["keep_until"]), "real_name_deadline": None,
            "cancellation": None if c["cancel_time"] is None else {
                "status": "done", "cause": WHY[c["cancel_why"]], "at": iso(c["cancel_time"]), "certificate": None},
            "replaced_by": None, "replaces": None,
        }

    def history(self, account: str, iccid: str) -> list[dict[str, Any]]:
        """TinyCMP's operation records as native ``Event`` items (its bills are events too, as in carriersim)."""
        return [self._event(iccid, r) for r in self._card_call("card.records", account, iccid)]

    def _event(self, iccid: str, r: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": r["seq"], "time": iso(r["time"]), "iccid": iccid, "cause": CAUSES[r["by"]]}
        if r["type"] == "STATUS":
            out.update(kind="state_changed", old_state=STATES[r["old"]], new_state=STATES[r["new"]],
                       reasons=[REASONS[f] for f in r["flags"]],
                       change={"SET": "added", "CLEAR": "removed"}.get(r["op"], "none"))
            if "why" in r:
                out["detail"] = self._detail({"why": r["why"]})
        elif r["type"] in ("IN", "OUT"):
            detail = {"item": self._item(r["item"])}
            if "qty_mb" in r:
                detail["mb"] = r["qty_mb"]
            out.update(kind=MONEY_KINDS[r["type"]], amount=cny(signed(r)), detail=detail)
        else:
            out["kind"] = RECORD_KINDS[r["type"]]
            out["detail"] = self._detail({k: v for k, v in r.items() if k not in ("seq", "time", "type", "by")})
        return out

    def _detail(self, d: dict[str, Any]) -> dict[str, Any]:
        """Vendor record fields in carriersim's words (plan ids become plan codes)."""
        words = {"plan_id": "plan", "old": "from", "new": "to", "effect": "effective_at", "on": "enabled",
                 "stop_on_quota": "auto_suspend"}
        out: dict[str, Any] = {}
        for key, value in d.items():
            if key in ("plan_id", "old", "new", "replaces"):
                value = self._code("PLAN", value)
            elif key == "effect":
                value = iso(value)
            elif key == "why":
                value = WHY.get(value, value.lower())
            out[words.get(key, key)] = value
        return out

    def _item(self, vendor_item: str) -> str:
        """Bill items in carriersim's words: ``PLAN:10002`` and ``PACK:10501`` become the products' codes."""
        head, _, number = vendor_item.partition(":")
        if head in ("PLAN", "PACK"):
            return self._code(head, int(number)) or vendor_item
        return {"OPEN_PAY": "payment", "RECHARGE": "top_up", "OVERFLOW": "overage",
                "KEEP_FEE": "retention_fee"}.get(vendor_item, vendor_item.lower())

    def ledger(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return [{"seq": b["seq"], "time": iso(b["time"]), "kind": MONEY_KINDS[b["type"]], "item": self._item(b["item"]),
                 "amount": cny(signed(b)), "balance": cny(b["balance"])}
                for b in self._card_call("card.bills", account, iccid)]

    def certificate(self, account: str, iccid: str) -> dict[str, Any]:
        """TinyCMP issues no cancellation certificates, so no card has one: that is an answer, not a failure."""
        self._card_call("card.info", account, iccid)  # card_not_found first, as for any read
        raise Refused("certificate_not_found", f"Card {iccid} has no cancellation certificate.", 404)

    def pool(self, account: str, pool: str) -> dict[str, Any]:
        raise self._unsupported("data pools", "pools")

    def close(self) -> None:
        pass
