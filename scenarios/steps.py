"""The scenario vocabulary: every step a scenario can take, its arguments, what it needs from a target, and an
example. The JSON Schema (``scenario.schema.json``), the parser's checks, the runner's dispatch and the README's
reference are all read from this one table, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carriersim.simulator.events import MONEY_KINDS, Kind
from carriersim.simulator.operations import BATCH_OPERATIONS, operation

S = dict[str, Any]

VARIABLE: S = {"type": "string", "pattern": r"\$\{[^}]+\}", "description": "text with a ${variable}"}


def either(schema: S, description: str) -> S:
    """A value of ``schema``, or a ``${variable}`` that will hold one."""
    return {"anyOf": [schema, VARIABLE], "description": description}


TEXT: S = {"type": "string", "minLength": 1}
CARD: S = {"type": "string", "minLength": 1, "description": "a card's id from given.cards or open_card "
           "(default: the first card)"}
ACCOUNT: S = {"type": "string", "minLength": 1, "description": "an account's id from given.accounts"}
TIME: S = {"type": "string", "minLength": 1, "x-time": True,
           "description": "a time expression: an ISO time, a point (next_cycle, expiry …) or a duration, with "
                          "offsets (expiry + 1 day)"}
DURATION: S = {"type": "string", "minLength": 1, "x-duration": True,
               "description": "a duration: '3 days', '1 month', '2 hours', P1M"}
MONEY: S = either({"type": ["number", "string"], "pattern": r"^-?\d+(\.\d{1,2})?$"}, "an amount in CNY (5, 5.00)")
NUMBER: S = either({"type": "number", "minimum": 0}, "a non-negative number")
BOOL: S = either({"type": "boolean"}, "true or false")
IMEI: S = {"type": "string", "minLength": 1, "description": "a 15-digit IMEI, or a device name (any word: each "
           "name stands for its own valid IMEI)"}
PLAN: S = {"type": "string", "minLength": 1, "description": "a plan code, or a selector: monthly, quarterly, "
           "annual, optionally :month/:term (quota scope) and :N (the N-th cheapest), e.g. quarterly:term"}
ADDON: S = {"type": "string", "minLength": 1, "description": "an add-on code, or smallest / largest"}
STATES = ["inventory", "testing", "ready", "active", "suspended", "retained", "pending_cancel", "cancelled"]
REASONS = ["quota", "arrears", "expired", "manual", "unverified", "region", "device", "lost", "maintenance",
           "carrier"]
EVENT_KINDS = [k.label for k in Kind]
LEDGER_KINDS = [k.label for k in Kind if k in MONEY_KINDS]
COUNT: S = {"anyOf": [{"type": "integer", "minimum": 0},
                      {"type": "object", "properties": {"min": {"type": "integer", "minimum": 0},
                                                        "max": {"type": "integer", "minimum": 0}},
                       "minProperties": 1, "additionalProperties": False},
                      VARIABLE],
            "description": "how many items match the pattern: a number (exactly), or {min: N, max: M} (either "
                           "bound may be left out); a counted pattern is not part of the ordered list"}
EVENT: S = {"type": "object", "description": "an event pattern: every field given must match",
            "properties": {"kind": {"enum": EVENT_KINDS}, "old_state": {"enum": STATES}, "new_state": {"enum": STATES},
                           "reasons": {"type": "array", "items": {"enum": REASONS}},
                           "change": {"enum": ["added", "removed", "none"]},
                           "cause": {"enum": ["api", "clock", "usage", "world"]}, "amount": MONEY,
                           "time": TIME, "detail": {"type": "object"}},
            "additionalProperties": False}
COUNTED_EVENT: S = {**EVENT, "properties": {**EVENT["properties"], "count": COUNT}}
LEDGER: S = {"type": "object", "description": "a ledger entry pattern: every field given must match",
             "properties": {"kind": {"enum": LEDGER_KINDS}, "item": TEXT, "amount": MONEY, "balance": MONEY,
                            "time": TIME, "count": COUNT},
             "additionalProperties": False}


def PATTERNS(item: S) -> S:
    """A non-empty list of patterns: an empty one would match anything (to say "nothing happened", use
    ``no_events`` with the kinds that must not appear)."""
    return {"type": "array", "items": item, "minItems": 1}


@dataclass(frozen=True)
class StepKind:
    name: str
    group: str  # "world" | "platform" | "expect"
    summary: str
    args: S
    example: str
    required: tuple[str, ...] = ()
    shorthand: str | None = None  # a scalar value stands for this argument
    needs: tuple[str, ...] = ()  # capabilities (scenarios.target.CAPABILITIES)
    open_args: bool = False  # further arguments are allowed (expect: any field of the card)
    extra: dict[str, S] = field(default_factory=dict)
    op: str | None = None  # the platform operation it performs (carriersim.simulator.operations)


def _card_step(step: str, op: str, summary: str, example: str, **args: S) -> StepKind:
    """A step that is one platform operation on a card: what it needs follows from the operation table."""
    capability = operation(op).capability
    return StepKind(step, "platform", summary, {"card": CARD, **args}, example, shorthand="card",
                    needs=(capability,) if capability else (), op=op)


STEPS: tuple[StepKind, ...] = (
    # ------------------------------------------------------------------ world actions
    StepKind("advance", "world", "Move the clock: by a duration, to a time, or to a named point (with offsets).",
             {"to": TIME, "card": CARD}, "- advance: 1 month\n- advance: next_cycle\n"
             "- advance: retention_limit - 1 day\n- advance: {to: expiry, card: tracker}",
             required=("to",), shorthand="to", needs=("time_travel",)),
    StepKind("use", "world", "Data seen by the network for a card, optionally from a region and a device.",
             {"card": CARD, "mb": NUMBER, "kb": NUMBER, "region": TEXT, "imei": IMEI},
             "- use: {card: tracker, mb: 25, region: CN-BJ, imei: tracker-device}", needs=("usage",)),
    StepKind("start_maintenance", "world", "Open the carrier's maintenance window (for a duration or until a time).",
             {"carrier": TEXT, "for": DURATION, "until": TIME, "stop_cards": BOOL},
             "- start_maintenance: {for: 2 hours}", shorthand="for", needs=("maintenance", "time_travel")),
    StepKind("end_maintenance", "world", "Close the carrier's maintenance window now.", {"carrier": TEXT},
             "- end_maintenance: {}", needs=("maintenance",)),
    StepKind("carrier_bar", "world", "The carrier stops the card on its own authority (LIFE-2 carrier).",
             {"card": CARD, "note": TEXT}, "- carrier_bar: tracker", shorthand="card", needs=("carrier_control",)),
    StepKind("carrier_release", "world", "The carrier lifts its hold.", {"card": CARD},
             "- carrier_release: tracker", shorthand="card", needs=("carrier_control",)),
    # ------------------------------------------------------------------ platform actions
    StepKind("open_card", "platform", "Open (sell) another card; its id names it in later steps.",
             {"id": TEXT, "account": ACCOUNT, "plan": PLAN, "payment": MONEY, "auto_suspend": BOOL,
              "auto_renew": BOOL, "testing": BOOL, "activate": BOOL, "imei": IMEI, "verified": BOOL,
              "balance": MONEY}, "- open_card: {id: spare, plan: annual}", required=("id",)),
    _card_step("activate", "activate", "Activate a card (binds the device, BIND-1).",
               "- activate: {card: spare, imei: spare-device}", imei=IMEI),
    _card_step("change_plan", "change_plan", "Ask for a plan change (from the next cycle, PLAN-1).",
               "- change_plan: {card: tracker, plan: monthly:2}", plan=PLAN),
    _card_step("withdraw_change", "withdraw_plan_change", "Withdraw the pending plan change (PLAN-2).",
               "- withdraw_change: tracker"),
    _card_step("top_up", "top_up", "Pay into the card's balance (CNY).",
               "- top_up: {card: tracker, amount: 20}\n  save: pay", amount=MONEY),
    _card_step("buy_addon", "buy_addon", "Buy an add-on pack (QUOTA-3).",
               "- buy_addon: {card: tracker, addon: smallest}", addon=ADDON),
    _card_step("renew", "renew", "Renew the plan (EXP-2), or prepay the next term (QUOTA-4).", "- renew: tracker"),
    _card_step("reactivate", "reactivate",
               "Ask to resume after paying arrears, where the carrier requires it (BILL-5).", "- reactivate: tracker"),
    _card_step("suspend", "suspend", "Manual stop (MAN-1).", "- suspend: tracker"),
    _card_step("resume", "resume", "Manual resume (MAN-1).", "- resume: tracker"),
    _card_step("verify", "verify_identity",
               "Real-name verification (KYC-1); name and document default to the account's.", "- verify: tracker",
               name=TEXT, id_number=TEXT),
    _card_step("rebind", "rebind_device", "Bind the card to another device (BIND-1).",
               "- rebind: {card: tracker, imei: new-box}", imei=IMEI),
    _card_step("unbind", "unbind_device", "Release the device binding.", "- unbind: tracker"),
    _card_step("set_auto_renew", "set_auto_renew", "Turn auto-renewal on or off.",
               "- set_auto_renew: {card: tracker, enabled: false}", enabled=BOOL),
    _card_step("appeal_region", "appeal_region", "Appeal a restricted-region stop (REG-1).",
               "- appeal_region: tracker"),
    _card_step("report_lost", "report_lost", "Report the card lost (LOST-1).", "- report_lost: tracker"),
    StepKind("swap", "platform", "Replace the card by a new one (SWAP-1); id names the new card.",
             {"card": CARD, "id": TEXT}, "- swap: {card: tracker, id: replacement}", required=("id",),
             needs=("lost_swap",)),
    _card_step("cancel", "request_cancellation",
               "Ask for cancellation (CAN-1/2/3); the document defaults to the account's.",
               "- cancel: tracker\n  returns: {review: standard}", document=TEXT),
    StepKind("batch", "platform", "Run an operation over a CSV template of cards (BATCH-1), plus raw rows.",
             {"operation": {"enum": list(BATCH_OPERATIONS)},
              "cards": {"type": "array", "items": CARD}, "rows": {"type": "array", "items": {"type": "string"}},
              "plan": PLAN, "amount": MONEY, "enabled": BOOL, "document": TEXT, "account": ACCOUNT},
             "- batch: {operation: suspend, cards: [a, b], rows: ['8986000000000000001']}\n"
             "  returns: {succeeded: 2, failed: 1}", required=("operation",), needs=("batch",)),
    _card_step("refund", "request_refund",
               "Ask for a refund: unused_months, wrong_top_up (of a saved payment) or balance.",
               "- refund: {card: tracker, kind: wrong_top_up, payment: '${pay.payment}'}",
               kind={"enum": ["unused_months", "wrong_top_up", "balance"]},
               payment=either({"type": "integer"}, "the payment's number (from a saved top_up)"), to=CARD),
    StepKind("create_pool", "platform", "Create a shared data pool (POOL-1).",
             {"id": TEXT, "account": ACCOUNT, "carrier": TEXT}, "- create_pool: {id: fleet}", required=("id",),
             shorthand="id", needs=("pools",)),
    StepKind("add_to_pool", "platform", "Put a card in a pool.", {"pool": TEXT, "card": CARD},
             "- add_to_pool: {pool: fleet, card: tracker}", required=("pool",), needs=("pools",)),
    # ------------------------------------------------------------------ expectations
    StepKind("expect", "expect", "Check a card: its state, reasons, balance, plan, pending change, usage, "
             "ledger, history, the events since the last step, or any field of the card.",
             {"card": CARD, "state": {"enum": STATES}, "reasons": {"type": "array", "items": {"enum": REASONS}},
              "balance": MONEY, "plan": PLAN,
              "pending_change": {"anyOf": [{"type": "null"}, {
                  "type": "object", "properties": {"plan": PLAN, "effective_at": TIME},
                  "additionalProperties": False}]},
              "usage": {"type": "object", "additionalProperties": NUMBER},
              "history": PATTERNS(COUNTED_EVENT), "events": PATTERNS(COUNTED_EVENT), "no_events": PATTERNS(EVENT),
              "ledger": PATTERNS(LEDGER),
              "certificate": {"type": ["boolean", "object"]}},
             "- expect: {card: tracker, state: suspended, reasons: [quota, arrears], balance: -1.50}\n"
             "- expect: {pending_change: {plan: monthly:2, effective_at: next_cycle}}\n"
             "- expect: {events: [{kind: state_changed, new_state: suspended, reasons: [quota]}]}\n"
             "- expect: {ledger: [{item: retention_fee, count: 3}], history: [{kind: alert, count: {min: 1, max: 2}}]}\n"
             "- expect: {state: active}\n  within: 3 days",
             shorthand="card", open_args=True),
    StepKind("expect_pool", "expect", "Check a pool's usage, quota and members.",
             {"pool": TEXT, "used_mb": NUMBER, "quota_mb": NUMBER,
              "members": either({"type": "integer", "minimum": 0}, "how many cards")},
             "- expect_pool: {pool: fleet, used_mb: 100, quota_mb: 100}", required=("pool",), shorthand="pool",
             needs=("pools",)),
)
BY_NAME: dict[str, StepKind] = {s.name: s for s in STEPS}

#: Keys a step may carry beside its one action.
MODIFIERS: dict[str, tuple[S, str]] = {
    "refused": ({"anyOf": [TEXT, {"type": "object", "properties": {"code": TEXT, "message": TEXT},
                                  "required": ["code"], "additionalProperties": False}]},
                "the step must be refused with this code (and a message containing this text)"),
    "returns": ({"type": "object"}, "the step's answer must contain these fields"),
    "save": ({"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
             "keep the step's answer as ${name.field} for later steps"),
    "as": (ACCOUNT, "act as this account instead of the card's owner (PLAN-3)"),
    "within": (DURATION, "expect: keep moving the clock until it holds, for at most this long"),
    "every": (DURATION, "with within: how far to move the clock between checks (default: a 24th of within)"),
    "if": ({"type": ["string", "boolean"]}, "run the step only when this ${variable} is true"),
    "unless": ({"type": ["string", "boolean"]}, "skip the step when this ${variable} is true"),
    "note": (TEXT, "a remark printed with the step when it fails"),
}
EXPECT_ONLY = ("within", "every")

#: A scenario's top-level fields.
SCENARIO_FIELDS = ("name", "description", "rules", "carriers", "requires", "given", "steps", "marks")
GIVEN_FIELDS = ("start", "seed", "accounts", "cards", "pools", "devices")
CARD_FIELDS = ("id", "account", "plan", "payment", "auto_suspend", "auto_renew", "testing", "activate", "imei",
               "verified", "balance", "pool")
