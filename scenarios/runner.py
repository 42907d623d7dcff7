"""Running a scenario on one carrier against a target, step by step, to an ``Outcome``.

The runner owns the scenario's names (cards, accounts, pools, devices, saved answers), turns selectors
(``monthly:2``, ``smallest``) and time expressions into what the target understands, and judges expectations.
It never looks inside the target: everything goes through the ``Target`` protocol, so a scenario means the same
on the simulator in this process, on a server, or on someone else's implementation.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from carriersim.simulator.identifiers import make_credit_code, make_imei, make_resident_id

from . import timeexpr
from .expect import (count_problems, event_line, is_regex, ledger_line, mismatches, same, show, split_counted,
                     subsequence)
from .model import Scenario, Step
from .parser import VARIABLE
from .steps import BY_NAME
from .target import Refused, Target, TargetError, missing_capabilities, perform

PASSED, FAILED, NOT_APPLICABLE, ERROR = "passed", "failed", "not_applicable", "error"
HISTORY_TAIL = 8
SELECTOR = re.compile(r"^(monthly|quarterly|annual)(?::(month|term))?(?::([1-9][0-9]*))?$")
MAX_WITHIN_CHECKS = 400
#: How a step argument becomes an operation's argument, by its name (others: variables filled in).
RESOLVE: dict[str, Callable[["_Run", Any], Any]] = {
    "imei": lambda run, v: run.device(str(run.value(v))),
    "plan": lambda run, v: run.plan(v),
    "addon": lambda run, v: run.addon(v),
    "amount": lambda run, v: str(run.value(v)),
    "enabled": lambda run, v: bool(run.value(v)),
}


@dataclass
class Failure:
    """Why a run failed: the step (with its place in the file), what was expected, what was found, and the
    recent history of the card concerned."""

    step: int
    where: str
    source: str
    expected: str
    found: str
    card: str | None = None
    history: list[str] = field(default_factory=list)
    note: str | None = None

    def render(self) -> str:
        lines = [f"step {self.step} at {self.where}: {self.source}"]
        if self.note:
            lines.append(f"  note:     {self.note}")
        lines.append(f"  expected: {self.expected}")
        lines.append(f"  found:    {self.found}")
        if self.history:
            lines.append(f"  recent history of {self.card}:")
            lines.extend(f"    {h}" for h in self.history)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "where": self.where, "source": self.source, "expected": self.expected,
                "found": self.found, "card": self.card, "history": self.history, "note": self.note}


@dataclass
class Outcome:
    scenario: Scenario
    carrier: str
    target: str
    status: str
    seconds: float
    failure: Failure | None = None
    reason: str = ""  # not applicable: the missing capabilities; error: what went wrong

    @property
    def id(self) -> str:
        return f"{self.scenario.id}[{self.carrier}]"

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "file": self.scenario.file, "carrier": self.carrier,
                "rules": list(self.scenario.rules), "target": self.target, "status": self.status,
                "seconds": round(self.seconds, 4), "reason": self.reason,
                "failure": self.failure.to_dict() if self.failure else None}


class StepFailed(Exception):
    def __init__(self, expected: str, found: str, card: str | None = None) -> None:
        super().__init__(f"expected {expected}, found {found}")
        self.expected, self.found, self.card = expected, found, card


class ScenarioRuntimeError(Exception):
    """The scenario cannot go on for a reason of its own (a selector no plan matches, a point the card has not)."""


def run(scenario: Scenario, carrier: str, target: Target, *,
        reference: dict[str, dict[str, Any]] | None = None) -> Outcome:
    """One scenario on one carrier. Never raises for a failing scenario: the outcome says what happened.

    ``reference``: carrier profiles that ``${profile.…}`` reads instead of the target's own — what a conformance
    run judges against, so that an implementation cannot pass by reporting the rules it happens to follow."""
    started = time.perf_counter()
    missing = missing_capabilities(target, set(scenario.needs))
    if missing:
        return Outcome(scenario, carrier, target.name, NOT_APPLICABLE, 0.0,
                       reason=f"the target lacks {', '.join(missing)}")
    run_: _Run | None = None
    try:
        if carrier not in target.carriers():
            return Outcome(scenario, carrier, target.name, NOT_APPLICABLE, 0.0,
                           reason=f"the target does not serve carrier {carrier}")
        run_ = _Run(scenario, carrier, target, (reference or {}).get(carrier))
        run_.setup()
        for step in scenario.steps:
            run_.step = step
            run_.do(step)
        status, failure, reason = PASSED, None, ""
    except StepFailed as exc:
        assert run_ is not None
        status, reason = FAILED, ""
        failure = run_.failure(exc.expected, exc.found, exc.card)
    except ScenarioRuntimeError as exc:
        assert run_ is not None
        status, failure, reason = ERROR, run_.failure("the scenario to be able to go on", str(exc), None), str(exc)
    except Refused as exc:  # outside an action's own refusal handling: building the world, or an observation
        where = "given" if run_ is None or run_.step is None else f"step {run_.step.index}"
        status, reason = (FAILED if where != "given" else ERROR), f"{where}: refused: {exc.code} ({exc.message})"
        failure = run_.failure("the target to answer", f"refused: {exc.code} ({exc.message})", None) \
            if run_ is not None else None
    except TargetError as exc:
        status, failure, reason = ERROR, None, str(exc)
    return Outcome(scenario, carrier, target.name, status, time.perf_counter() - started, failure, reason)


class _Run:
    def __init__(self, scenario: Scenario, carrier: str, target: Target,
                 profile: dict[str, Any] | None = None) -> None:
        self.sc, self.carrier, self.target = scenario, carrier, target
        self.profile = profile if profile is not None else target.profile(carrier)
        self.tz = str(self.profile.get("timezone", "Asia/Shanghai"))
        self.cycle_day = int(self.profile.get("billing_cycle_day", 1))
        self.accounts: dict[str, str] = {}
        self.documents: dict[str, tuple[str, str]] = {}  # account alias -> (holder name, document number)
        self.cards: dict[str, tuple[str, str]] = {}  # card alias -> (account alias, iccid)
        self.pools: dict[str, tuple[str, str]] = {}
        self.devices: dict[str, str] = {}
        self.saved: dict[str, Any] = {}
        self.seen: dict[str, int] = {}  # card alias -> history length at the last step boundary
        self.step: Step | None = None
        self.rng = random.Random(f"{scenario.id}:{carrier}")

    # ---------------------------------------------------------------- names and values
    def device(self, name: str) -> str:
        if re.fullmatch(r"\d{15}", name):
            return name
        if name not in self.devices:
            self.devices[name] = make_imei(len(self.devices) + 1)
        return self.devices[name]

    def card_ref(self, alias: str | None) -> tuple[str, str, str]:
        """(alias, account handle, iccid) of a card; no alias: the first card."""
        if alias is None:
            if not self.cards:
                raise ScenarioRuntimeError("this step is about a card, but the scenario has none yet")
            alias = next(iter(self.cards))
        if alias not in self.cards:
            raise ScenarioRuntimeError(f"no card named {alias!r}")
        account, iccid = self.cards[alias]
        return alias, self.accounts[account], iccid

    def actor(self, account_alias: str) -> str:
        """The acting account: the ``as:`` modifier, else the card's owner."""
        who = (self.step.modifiers.get("as") if self.step else None)
        return self.accounts[who] if who else account_alias

    def value(self, raw: Any) -> Any:
        """``raw`` with its ``${…}`` variables filled in (a lone variable keeps its type)."""
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, str) or "${" not in raw:
            return raw
        whole = VARIABLE.fullmatch(raw.strip())
        if whole:
            return self.variable(whole.group(1))
        return VARIABLE.sub(lambda m: show(self.variable(m.group(1))), raw)

    def variable(self, text: str) -> Any:
        parts = [p for p in text.strip().split(".") if p]
        root, rest = parts[0], parts[1:]
        if root == "profile":
            value: Any = self.profile
        elif root == "carrier":
            value = self.carrier
        elif root in self.saved:
            value = self.saved[root]
        elif root in self.cards:
            alias, account, iccid = self.card_ref(root)
            if rest[:1] in (["iccid"], []):
                return iccid
            if rest[:1] == ["account"]:
                return account
            value = self.target.card(account, iccid)
        elif root in self.accounts:
            return self.accounts[root]
        elif root in self.pools:
            return self.pools[root][1]
        elif root in self.devices:
            return self.devices[root]
        else:
            raise ScenarioRuntimeError(f"${{{text}}}: nothing is named {root!r} (yet)")
        for part in rest:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise ScenarioRuntimeError(f"${{{text}}}: {part!r} is not there")
        return value

    def when(self, raw: Any, card: str | None = None) -> datetime:
        text = str(self.value(raw))
        try:
            expr = timeexpr.parse(text)
            return timeexpr.resolve(expr, now=self.target.now(), tz=self.tz, cycle_day=self.cycle_day,
                                    card_field=(lambda path: self._card_field(card, path)))
        except timeexpr.TimeExprError as exc:
            raise ScenarioRuntimeError(str(exc)) from None

    def _card_field(self, alias: str | None, path: tuple[str, ...]) -> Any:
        _, account, iccid = self.card_ref(alias)
        value: Any = self.target.card(account, iccid)
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def plan(self, selector: Any) -> str:
        selector = str(self.value(selector))
        plans = self.target.plans(self.carrier)
        if any(p["code"] == selector for p in plans):
            return selector
        m = SELECTOR.match(selector)
        if not m:  # a plan code: the target decides whether it exists (plan_not_found is a refusal to test)
            return selector
        term, scope, nth = m.group(1), m.group(2), int(m.group(3) or 1)
        fits = sorted((p for p in plans if p["term"] == term and (scope is None or p.get("quota_scope") == scope)),
                      key=lambda p: (Decimal(str(p["price"])), p["quota_mb"]))
        if len(fits) < nth:
            raise ScenarioRuntimeError(f"{self.carrier} has no plan {selector!r} (its {term} plans: "
                                       f"{', '.join(p['code'] for p in fits) or 'none'})")
        return fits[nth - 1]["code"]

    def addon(self, selector: Any) -> str:
        selector = str(self.value(selector))
        packs = sorted(self.target.addons(self.carrier), key=lambda a: (a["quota_mb"], Decimal(str(a["price"]))))
        if selector in ("smallest", "largest") and packs:
            return packs[0 if selector == "smallest" else -1]["code"]
        if any(a["code"] == selector for a in packs):
            return selector
        raise ScenarioRuntimeError(f"{self.carrier} has no add-on {selector!r} (its add-ons: "
                                   f"{', '.join(a['code'] for a in packs)}; or say smallest / largest)")

    # ---------------------------------------------------------------- the world at the start
    def setup(self) -> None:
        given = self.sc.given
        start = timeexpr.resolve(timeexpr.parse(given.start), now="2000-01-01T00:00:00+00:00", tz=self.tz,
                                 cycle_day=self.cycle_day)
        self.target.reset(start=start.isoformat(), seed=given.seed)
        for a in given.accounts:
            document = make_credit_code(self.rng) if a.kind == "enterprise" else make_resident_id(self.rng)
            self.documents[a.id] = (a.name, document)
            self.accounts[a.id] = self.target.create_account(a.name, kind=a.kind, verified=bool(a.verified),
                                                             id_number=document)
        for name in given.devices:
            self.device(name)
        for p in given.pools:
            self.pools[p.id] = (p.account, perform(self.target, "create_pool", self.accounts[p.account],
                                                   {"carrier": p.carrier or self.carrier, "name": p.id}))
        for c in given.cards:
            self.open(c.id, c.account, {k: getattr(c, k) for k in ("plan", "payment", "auto_suspend", "auto_renew",
                                                                   "testing", "activate", "imei", "verified",
                                                                   "balance", "pool")})

    def open(self, alias: str, account_alias: str, spec: dict[str, Any]) -> None:
        spec = {k: self.value(v) for k, v in spec.items() if v is not None}
        account = self.accounts[account_alias]
        payment = spec.get("payment")
        testing = bool(spec.get("testing", False))
        iccid = perform(self.target, "open_card", account, {
            "carrier": self.carrier, "plan": self.plan(spec.get("plan", "monthly")),
            "payment": None if payment is None else str(payment), "auto_suspend": bool(spec.get("auto_suspend", True)),
            "auto_renew": bool(spec.get("auto_renew", True)), "testing": testing})
        self.cards[alias] = (account_alias, iccid)
        self.seen[alias] = 0
        if spec.get("verified") is True and not self.target.card(account, iccid).get("verified"):
            name, document = self.documents[account_alias]
            perform(self.target, "verify_identity", account, {"iccid": iccid, "name": name, "id_number": document})
        if spec.get("balance") is not None:
            perform(self.target, "top_up", account, {"iccid": iccid, "amount": str(spec["balance"])})
        if spec.get("pool") is not None:
            perform(self.target, "add_to_pool", account, {"pool_id": self.pools[spec["pool"]][1], "iccid": iccid})
        if spec.get("activate", not testing):
            perform(self.target, "activate", account,
                    {"iccid": iccid, "imei": self.device(str(spec.get("imei") or f"{alias}-device"))})

    # ---------------------------------------------------------------- a step
    def do(self, step: Step) -> None:
        mods = step.modifiers
        if "if" in mods and not self.truthy(mods["if"]):
            return
        if "unless" in mods and self.truthy(mods["unless"]):
            return
        args = step.args
        if step.kind not in ("expect", "expect_pool") and self.sc.watches_events:
            self.mark_seen()  # "events since the last step": what this action and the clock after it emit
        if step.kind == "expect" and "within" in mods:
            self.within(args, mods)
        else:
            refused = mods.get("refused")
            try:
                custom = getattr(self, f"do_{step.kind}", None)
                answer = custom(args) if custom is not None else self.do_operation(step)
            except Refused as exc:
                if refused is None:
                    raise StepFailed("the step to succeed", f"refused: {exc.code} ({exc.message})",
                                     self.card_of(args)) from None
                self.check_refusal(refused, exc, args)
                answer = {"code": exc.code, "message": exc.message}
            else:
                if refused is not None:
                    refused = self.value(refused)
                    want = refused if isinstance(refused, str) else refused["code"]
                    raise StepFailed(f"a refusal with code {want}", "the step succeeded", self.card_of(args))
            if "returns" in mods:
                expected = self.value(mods["returns"])
                wrong = mismatches(expected, answer if isinstance(answer, dict) else {}, self.resolver(args))
                if wrong:
                    raise StepFailed(f"an answer with {show(expected)}", "; ".join(wrong), self.card_of(args))
            if "save" in mods:
                self.saved[mods["save"]] = answer

    def truthy(self, raw: Any) -> bool:
        value = self.value(raw)
        if isinstance(value, str):
            return value.strip().lower() not in ("", "false", "no", "0", "none", "null")
        return bool(value)

    def check_refusal(self, refused: Any, exc: Refused, args: dict[str, Any]) -> None:
        refused = self.value(refused)
        code = refused if isinstance(refused, str) else refused["code"]
        text = None if isinstance(refused, str) else refused.get("message")
        if exc.code != code:
            raise StepFailed(f"a refusal with code {code}", f"refused with {exc.code}: {exc.message}",
                             self.card_of(args))
        if text and "messages" in self.target.capabilities and str(text).lower() not in exc.message.lower():
            raise StepFailed(f"a refusal saying {text!r}", f"{exc.code}: {exc.message}", self.card_of(args))

    def card_of(self, args: dict[str, Any]) -> str | None:
        alias = args.get("card")
        if isinstance(alias, str) and alias in self.cards:
            return alias
        return next(iter(self.cards), None)

    def mark_seen(self) -> None:
        count = getattr(self.target, "history_length", None)  # optional: cheaper than reading the history
        for alias in self.cards:
            _, account, iccid = self.card_ref(alias)
            try:
                self.seen[alias] = count(account, iccid) if count else len(self.target.history(account, iccid))
            except Refused:  # a carrier in maintenance may refuse reads (MAINT-1): keep the last mark it answered
                pass

    def resolver(self, args: dict[str, Any]) -> Callable[[str], datetime]:
        return lambda text: self.when(text, args.get("card"))

    def failure(self, expected: str, found: str, card: str | None) -> Failure:
        step = self.step
        history: list[str] = []
        if card and card in self.cards and "history" in self.target.capabilities:
            try:
                _, account, iccid = self.card_ref(card)
                history = [event_line(e, self.tz) for e in self.target.history(account, iccid)[-HISTORY_TAIL:]]
                card = f"{card} ({iccid})"
            except (Refused, TargetError):
                pass
        if step is None:
            return Failure(0, str(self.sc.where), "given", expected, found, card, history)
        return Failure(step.index, str(step.where), step.source, expected, found, card, history,
                       step.modifiers.get("note"))

    # ---------------------------------------------------------------- world actions
    def do_advance(self, a: dict[str, Any]) -> dict[str, Any]:
        to = self.when(a["to"], a.get("card"))
        now = datetime.fromisoformat(self.target.now())
        if to < now:
            raise ScenarioRuntimeError(f"advance: {a['to']} is {to.isoformat()}, before now ({now.isoformat()}); "
                                       "the clock only moves forward")
        self.target.advance(to.isoformat())
        return {"now": self.target.now()}

    def do_use(self, a: dict[str, Any]) -> dict[str, Any]:
        _, _, iccid = self.card_ref(a.get("card"))
        a = self.value(a)
        try:
            kb = round(float(a["mb"]) * 1024) if "mb" in a else int(a.get("kb", 0))
        except (TypeError, ValueError):
            raise ScenarioRuntimeError(f"use: the amount must be a number, got {a.get('mb', a.get('kb'))!r}") from None
        imei = self.device(str(a["imei"])) if a.get("imei") is not None else None
        return self.target.report_usage(iccid, kb=kb, region=a.get("region"), imei=imei)

    def do_start_maintenance(self, a: dict[str, Any]) -> dict[str, Any]:
        a = self.value(a)
        until = self.when(a["until"]) if "until" in a else self.when(f"now + {a.get('for', '1 hour')}")
        carrier = a.get("carrier", self.carrier)
        self.target.start_maintenance(carrier, until=until.isoformat(), stop_cards=bool(a.get("stop_cards", True)))
        return {"carrier": carrier, "until": until.isoformat()}

    def do_end_maintenance(self, a: dict[str, Any]) -> None:
        self.target.end_maintenance(self.value(a).get("carrier", self.carrier))

    def do_carrier_bar(self, a: dict[str, Any]) -> None:
        self.target.carrier_bar(self.card_ref(a.get("card"))[2], str(self.value(a.get("note", ""))))

    def do_carrier_release(self, a: dict[str, Any]) -> None:
        self.target.carrier_release(self.card_ref(a.get("card"))[2])

    # ---------------------------------------------------------------- platform actions
    def _card_call(self, a: dict[str, Any], operation: str, **args: Any) -> Any:
        """A platform operation on the step's card, as the acting account, through the operation table."""
        alias, owner, iccid = self.card_ref(a.get("card"))
        return perform(self.target, operation, self.actor(owner), {"iccid": iccid, **args})

    def do_operation(self, step: Step) -> Any:
        """A step that is one operation on a card (``StepKind.op``): its arguments resolved by their names."""
        a = step.args
        args = {name: RESOLVE.get(name, lambda run, v: run.value(v))(self, a[name]) for name in a if name != "card"}
        return self._card_call(a, BY_NAME[step.kind].op or step.kind, **args)

    def do_open_card(self, a: dict[str, Any]) -> dict[str, Any]:
        account = a.get("account", self.sc.given.accounts[0].id)
        who = self.step.modifiers.get("as") if self.step else None
        self.open(a["id"], who or account, {k: v for k, v in a.items() if k not in ("id", "account")})
        return {"iccid": self.cards[a["id"]][1]}

    def do_change_plan(self, a: dict[str, Any]) -> dict[str, Any]:
        return {"effective_at": self._card_call(a, "change_plan", plan=self.plan(a["plan"]))}

    def do_buy_addon(self, a: dict[str, Any]) -> None:
        self._card_call(a, "buy_addon", addon=self.addon(a.get("addon", "smallest")))

    def do_verify(self, a: dict[str, Any]) -> None:
        alias, _, _ = self.card_ref(a.get("card"))
        name, document = self.documents[self.cards[alias][0]]
        self._card_call(a, "verify_identity", name=str(self.value(a.get("name", name))),
                        id_number=str(self.value(a.get("id_number", document))))

    def do_swap(self, a: dict[str, Any]) -> dict[str, Any]:
        alias, _, _ = self.card_ref(a.get("card"))
        new = self._card_call(a, "swap")
        self.cards[a["id"]] = (self.cards[alias][0], new)
        self.seen[a["id"]] = 0
        return {"iccid": new}

    def do_cancel(self, a: dict[str, Any]) -> dict[str, Any]:
        alias, _, _ = self.card_ref(a.get("card"))
        document = self.documents[self.cards[alias][0]][1]
        return self._card_call(a, "request_cancellation", document=str(self.value(a.get("document", document))))

    def do_refund(self, a: dict[str, Any]) -> dict[str, Any]:
        a = self.value(a)
        payment = a.get("payment")
        to = self.card_ref(a["to"])[2] if a.get("to") else None
        alias, owner, iccid = self.card_ref(a.get("card"))
        return perform(self.target, "request_refund", self.actor(owner),
                       {"iccid": iccid, "kind": a["kind"], "payment": None if payment is None else int(payment),
                        "to_iccid": to})

    def do_batch(self, a: dict[str, Any]) -> dict[str, Any]:
        a = self.value(a)
        account_alias = a.get("account", self.sc.given.accounts[0].id)
        extra = {"change_plan": ("plan", lambda v: self.plan(v)), "top_up": ("amount", str),
                 "set_auto_renew": ("enabled", lambda v: "true" if v else "false")}.get(a["operation"])
        header = "iccid" + (f",{extra[0]}" if extra else "")
        tail = f",{extra[1](a.get(extra[0]))}" if extra else ""
        lines = [header] + [self.card_ref(c)[2] + tail for c in a.get("cards", [])] + \
            [str(r) + tail for r in a.get("rows", [])]
        document = a.get("document") or (self.documents[account_alias][1] if a["operation"] == "cancel" else None)
        answer = self.target.batch(self.actor(self.accounts[account_alias]), a["operation"],
                                   ("\n".join(lines) + "\n").encode(), document=document)
        return answer

    def do_create_pool(self, a: dict[str, Any]) -> dict[str, Any]:
        account = a.get("account", self.sc.given.accounts[0].id)
        pool = perform(self.target, "create_pool", self.accounts[account],
                       {"carrier": a.get("carrier", self.carrier), "name": a["id"]})
        self.pools[a["id"]] = (account, pool)
        return {"id": pool}

    def do_add_to_pool(self, a: dict[str, Any]) -> None:
        alias, owner, iccid = self.card_ref(a.get("card"))
        perform(self.target, "add_to_pool", self.actor(owner), {"pool_id": self.pools[a["pool"]][1], "iccid": iccid})

    # ---------------------------------------------------------------- expectations
    def within(self, args: dict[str, Any], mods: dict[str, Any]) -> None:
        deadline = self.when(f"now + {self.value(mods['within'])}")
        every = self.value(mods.get("every")) if mods.get("every") else None
        for _ in range(MAX_WITHIN_CHECKS):
            try:
                self.do_expect(args)
                return
            except StepFailed as exc:
                now = datetime.fromisoformat(self.target.now())
                if now >= deadline:
                    raise StepFailed(f"{exc.expected} within {mods['within']}", f"{exc.found} (still, at "
                                     f"{now.isoformat()})", exc.card) from None
                if every:
                    nxt = self.when(f"now + {every}")
                else:  # a 24th of the span, but at least a minute
                    nxt = now + max((deadline - now) / 24, timedelta(minutes=1))
                self.target.advance(min(nxt, deadline).isoformat())
        raise ScenarioRuntimeError("within: too many checks; give a larger 'every'")

    def do_expect(self, a: dict[str, Any]) -> dict[str, Any]:
        alias, owner, iccid = self.card_ref(a.get("card"))
        account = self.actor(owner)
        view = self.target.card(account, iccid)
        resolve = self.resolver(a)
        wrong: list[str] = []
        for key, raw in a.items():
            if key == "card":
                continue
            want = self.value(raw)
            if key in ("history", "events", "no_events"):
                items = self.target.history(account, iccid)
                if key != "history":
                    items = items[self.seen.get(alias, 0):]
                if key == "no_events":
                    hits = [e for e in items for p in want if not mismatches(p, e, resolve)]
                    if hits:
                        wrong.append(f"no event like {show(want)} since the last step; found "
                                     f"{event_line(hits[0], self.tz)}")
                else:
                    want, counted = split_counted(want)
                    scope = "in the history" if key == "history" else "since the last step"
                    wrong.extend(self.counts(counted, items, resolve, f"events {scope}",
                                             lambda e: event_line(e, self.tz)))
                    missing = subsequence(want, items, resolve)
                    if missing is not None:
                        seen = "; ".join(event_line(e, self.tz) for e in items[-6:]) or "no events"
                        wrong.append(f"an event like {show(want[missing])} {scope}; found: {seen}")
            elif key == "ledger":
                rows = self.target.ledger(account, iccid)
                want, counted = split_counted(want)
                wrong.extend(self.counts(counted, rows, resolve, "ledger entries", ledger_line))
                missing = subsequence(want, rows, resolve)
                if missing is not None:
                    shown = "; ".join(ledger_line(r) for r in rows[-6:])
                    wrong.append(f"a ledger entry like {show(want[missing])}; the ledger ends: {shown or 'empty'}")
            elif key == "certificate":
                try:
                    cert = self.target.certificate(account, iccid)
                except Refused as exc:
                    if want is not False:
                        wrong.append(f"a cancellation certificate; found none ({exc.code})")
                    continue
                if want is False:
                    wrong.append(f"no certificate; found {cert.get('number')}")
                elif isinstance(want, dict):
                    wrong.extend(mismatches(want, cert, resolve, "certificate."))
            elif key == "plan":
                if not same("plan", self.plan(want), view.get("plan"), resolve):
                    wrong.append(f"plan: expected {self.plan(want)} ({want}), found {view.get('plan')}")
            elif key == "pending_change" and isinstance(want, dict):
                found = view.get("pending_change")
                expected = dict(want)
                if "plan" in expected:
                    expected["plan"] = self.plan(expected["plan"])
                if not isinstance(found, dict):
                    wrong.append(f"pending_change: expected {show(expected)}, found none")
                else:
                    wrong.extend(mismatches(expected, found, resolve, "pending_change."))
            elif isinstance(want, dict) and not is_regex(want):
                wrong.extend(mismatches(want, view.get(key) or {}, resolve, f"{key}."))
            elif not same(key, want, view.get(key), resolve):
                wrong.append(f"{key}: expected {show(want)}, found {show(view.get(key))}")
        if wrong:
            raise StepFailed(show({k: v for k, v in a.items() if k != "card"}), "; ".join(wrong), alias)
        return view

    @staticmethod
    def counts(counted: list[dict[str, Any]], items: list[dict[str, Any]], resolve: Callable[[str], datetime],
               noun: str, line: Callable[[dict[str, Any]], str]) -> list[str]:
        try:
            return count_problems(counted, items, resolve, noun, line)
        except (TypeError, ValueError) as exc:  # a ${variable} count that is not a number
            raise ScenarioRuntimeError(str(exc)) from None

    def do_expect_pool(self, a: dict[str, Any]) -> dict[str, Any]:
        account_alias, pool = self.pools[a["pool"]]
        view = self.target.pool(self.actor(self.accounts[account_alias]), pool)
        want = {k: self.value(v) for k, v in a.items() if k != "pool"}
        found = dict(view)
        if "members" in want:
            found["members"] = len(view.get("members", []))
        wrong = mismatches(want, found, self.resolver(a))
        if wrong:
            raise StepFailed(show(want), "; ".join(wrong))
        return view
