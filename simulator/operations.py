"""The one operation table: every platform operation and world action, declared once.

Each entry says what an operation is called (the method that implements it), its parameters and their types (JSON
Schema, so an API can validate a request against them), its result, the rule ids it serves, the capability a
target needs for it (``carriersim.scenarios.target.CAPABILITIES``) and whether it changes the world. The engine
implements the operations (``Simulation`` methods; server-level world actions on the server's world facade); the
APIs (native ``/v1``, test control ``/_sim``, carrier dialects), the scenario targets, the scenario step table and
the journal dispatch through this table by name, so adding an operation touches the engine, this table and only
what must render it differently.

Scopes: ``platform`` — a SIM platform acting as an account (the account comes first: PLAN-3); ``world`` — test
control over the simulated world (the network, the clock, the carrier); ``server`` — test control over a served
world's own state (accounts with their API keys, webhooks, faults, the clock's mode), implemented by the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

S = dict[str, Any]

# ------------------------------------------------------------------------------------------ parameter types
ICCID: S = {"type": "string", "pattern": "^[0-9]{19,20}$", "description": "19–20 digits, Luhn check digit (ID-1)"}
IMEI: S = {"type": "string", "pattern": "^[0-9]{15}$", "description": "15 digits, Luhn check digit (ID-1)"}
MONEY_IN: S = {"oneOf": [{"type": "string", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$"},
                         {"type": "number", "minimum": 0.01, "maximum": 100000}],
               "description": "CNY, at most 2 decimals"}
CODE: S = {"type": "string", "minLength": 1, "maxLength": 64}
BOOL: S = {"type": "boolean"}
DURATION: S = {"type": "string", "minLength": 1, "maxLength": 64,
               "description": "'3 days', '1 month', '2 hours' or ISO-8601 (P1M, PT12H)"}
TIME: S = {"type": "string", "minLength": 1, "maxLength": 64}
TEXT_32: S = {"type": "string", "minLength": 1, "maxLength": 32}
BATCH_OPERATIONS = ("suspend", "resume", "activate", "change_plan", "withdraw_plan_change", "top_up",
                    "set_auto_renew", "cancel")


@dataclass(frozen=True)
class Param:
    name: str
    schema: S
    required: bool = False


@dataclass(frozen=True)
class Operation:
    name: str
    summary: str
    params: tuple[Param, ...] = ()
    result: str | None = None  # the record it returns (a name in simulator.records, or a builtin)
    rules: tuple[str, ...] = ()
    capability: str | None = None
    write: bool = True
    scope: str = "platform"  # platform | world | server
    card: bool = True  # its first parameter is the card (iccid)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def schema(self, *, omit: tuple[str, ...] = (), **more: Any) -> S:
        """The JSON Schema of an object of this operation's parameters (less ``omit``: those an API takes from
        elsewhere, such as the path); unknown fields are refused."""
        params = [p for p in self.params if p.name not in omit]
        out: S = {"type": "object", "properties": {p.name: p.schema for p in params}, "additionalProperties": False,
                  **more}
        required = [p.name for p in params if p.required]
        if required:
            out["required"] = required
        return out


def _p(name: str, schema: S, required: bool = False) -> Param:
    return Param(name, schema, required)


def _card_op(name: str, summary: str, *params: Param, **kw: Any) -> Operation:
    return Operation(name, summary, (_p("iccid", ICCID, True), *params), **kw)


OPERATIONS: tuple[Operation, ...] = (
    # ------------------------------------------------------------------ platform operations (an account acts)
    Operation("open_card", "Open (sell) a card with a paid plan", (
        _p("carrier", CODE, True), _p("plan", CODE, True), _p("payment", MONEY_IN), _p("auto_suspend", BOOL),
        _p("auto_renew", BOOL), _p("testing", BOOL), _p("iccid", ICCID)), "Card", ("BILL-1", "QUOTA-1", "LIFE-1"),
        card=False),
    _card_op("activate", "Activate a card (binds the device)", _p("imei", IMEI), rules=("LIFE-1", "BIND-1")),
    _card_op("change_plan", "Ask for a plan change, effective at the next cycle start", _p("plan", CODE, True),
             result="datetime", rules=("PLAN-1", "PLAN-2", "PLAN-3")),
    _card_op("withdraw_plan_change", "Withdraw the pending plan change", rules=("PLAN-2",)),
    _card_op("top_up", "Pay into the card's balance", _p("amount", MONEY_IN, True), result="int",
             rules=("BILL-5",)),
    _card_op("buy_addon", "Buy an add-on pack", _p("addon", CODE, True), rules=("QUOTA-3", "POOL-1")),
    _card_op("renew", "Renew the plan (EXP-2) or prepay the next term (QUOTA-4)", result="str",
             rules=("EXP-2", "QUOTA-4")),
    _card_op("reactivate", "Resume after paying arrears, where the carrier requires it", rules=("BILL-5",)),
    _card_op("suspend", "Manual stop", rules=("MAN-1",)),
    _card_op("resume", "Manual resume", rules=("MAN-1",)),
    _card_op("verify_identity", "Real-name verification", _p("name", {"type": "string", "minLength": 1,
                                                                       "maxLength": 100}, True),
             _p("id_number", TEXT_32, True), rules=("KYC-1",), capability="real_name"),
    _card_op("rebind_device", "Bind the card to a new device", _p("imei", IMEI, True), rules=("BIND-1",),
             capability="device_binding"),
    _card_op("unbind_device", "Release the device binding", rules=("BIND-1", "CAN-1"), capability="device_binding"),
    _card_op("set_auto_renew", "Turn auto-renewal on or off", _p("enabled", BOOL, True), rules=("EXP-1", "CAN-1")),
    _card_op("appeal_region", "Appeal a restricted-region stop", rules=("REG-1",), capability="regions"),
    _card_op("report_lost", "Report the card lost", rules=("LOST-1",), capability="lost_swap"),
    _card_op("swap", "Replace the card by a new one; returns the new ICCID", _p("new_iccid", ICCID), result="str",
             rules=("SWAP-1",), capability="lost_swap"),
    _card_op("request_cancellation", "Ask for cancellation", _p("document", TEXT_32, True), result="Review",
             rules=("CAN-1", "CAN-2", "CAN-3"), capability="cancellation"),
    _card_op("request_refund", "Ask for a refund", _p("kind", {"enum": ["unused_months", "wrong_top_up", "balance"]},
                                                       True),
             _p("payment", {"type": "integer", "minimum": 0}), _p("to_iccid", ICCID), result="int",
             rules=("REF-1", "CAN-4"), capability="refunds"),
    Operation("batch", "Run an operation over a CSV/.xlsx template of cards", (
        _p("operation", {"type": "string", "enum": list(BATCH_OPERATIONS)}, True),
        _p("data", {"type": "string", "contentMediaType": "application/octet-stream"}, True),
        _p("filename", {"type": "string"}, True), _p("document", {"type": "string", "maxLength": 32})),
        "BatchResult", ("BATCH-1", "CAN-2"), "batch", card=False),
    Operation("create_pool", "Create a shared data pool", (
        _p("carrier", CODE, True), _p("name", {"type": "string", "minLength": 1, "maxLength": 100})), "str",
        ("POOL-1",), "pools", card=False),
    Operation("add_to_pool", "Put a card in a pool", (_p("pool_id", {"type": "string"}, True),
                                                      _p("iccid", ICCID, True)), None, ("POOL-1",), "pools",
              card=False),
    _card_op("set_label", "Set or remove a label of the card (a carrier API's own per-card field)",
             _p("key", {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,31}\.[A-Za-z][A-Za-z0-9_]{0,63}$"}, True),
             _p("value", {"type": ["string", "null"], "maxLength": 256}), _p("unique", BOOL),
             rules=("PLAN-3",)),
    # ------------------------------------------------------------------ platform reads
    _card_op("card", "A card as its owner sees it", result="Card", rules=("PLAN-3",), write=False),
    _card_op("history", "A card's events", result="list[Event]", rules=("LIFE-4",), capability="history",
             write=False),
    _card_op("ledger", "A card's charges, payments and refunds", result="list[LedgerEntry]", capability="ledger",
             write=False),
    _card_op("certificate", "The cancellation certificate", result="Certificate", rules=("CAN-4",),
             capability="cancellation", write=False),
    Operation("pool", "A pool with its members and usage", (_p("pool_id", {"type": "string"}, True),), "Pool",
              ("POOL-1",), "pools", write=False, card=False),
    # ------------------------------------------------------------------ world actions (test control)
    Operation("advance", "Move the clock forward, running everything due on the way", (
        _p("to", TIME), _p("by", DURATION)), "AdvanceResult", ("BILL-2",), "time_travel", scope="world",
        card=False),
    _card_op("report_usage", "Traffic seen by the network for a card, from a region and a device", (
        _p("mb", {"type": "number", "minimum": 0, "maximum": 10_000_000})),
        _p("kb", {"type": "integer", "minimum": 0, "maximum": 10_000_000_000}),
        _p("region", {"type": "string", "minLength": 1, "maxLength": 32}), _p("imei", IMEI),
        result="UsageResult", rules=("QUOTA-1", "REG-1", "BIND-1", "ALERT-1"), capability="usage", scope="world"),
    Operation("add_inventory", "Put unsold cards in a carrier's stock (LIFE-1 inventory); returns their ICCIDs",
              (_p("carrier", CODE, True), _p("count", {"type": "integer", "minimum": 1, "maximum": 100_000})),
              "list[str]", ("LIFE-1",), scope="world", card=False),
    Operation("report_usage_many", "Traffic seen by the network for many cards at once (load generators)", (
        _p("reports", {"type": "array", "minItems": 1, "maxItems": 100_000, "items": {
            "type": "object", "additionalProperties": False, "required": ["iccid", "kb"],
            "properties": {"iccid": ICCID, "kb": {"type": "integer", "minimum": 0, "maximum": 10_000_000_000},
                           "region": {"type": "string", "minLength": 1, "maxLength": 32}, "imei": IMEI}}}, True),),
        "UsageBatchResult", ("QUOTA-1", "REG-1", "BIND-1", "ALERT-1"), "usage", scope="world", card=False),
    Operation("start_maintenance", "Open a carrier's maintenance window", (
        _p("carrier", CODE, True), _p("until", TIME), _p("duration", DURATION), _p("stop_cards", BOOL)), None,
        ("MAINT-1",), "maintenance", scope="world", card=False),
    Operation("end_maintenance", "Close a carrier's maintenance window now", (_p("carrier", CODE, True),), None,
              ("MAINT-1",), "maintenance", scope="world", card=False),
    _card_op("carrier_bar", "The carrier stops a card on its own authority",
             _p("note", {"type": "string", "maxLength": 200}), rules=("LIFE-2",), capability="carrier_control",
             scope="world"),
    _card_op("carrier_release", "The carrier lifts its hold", rules=("LIFE-2",), capability="carrier_control",
             scope="world"),
    Operation("create_account", "Create an account (and, on a server, its first API key)", (
        _p("name", {"type": "string", "minLength": 1, "maxLength": 200}, True),
        _p("kind", {"enum": ["enterprise", "personal"]}),
        _p("channel", {"type": "string", "minLength": 1, "maxLength": 64}), _p("verified", BOOL),
        _p("id_number", TEXT_32)), "str", ("PLAN-3",), "accounts", scope="world", card=False),
    # ------------------------------------------------------------------ server-level world actions
    Operation("create_api_key", "Issue another API key for an account", (_p("account_id", {"type": "string"}, True),),
              "str", ("PLAN-3",), scope="server", card=False),
    Operation("generate_fleet", "Generate accounts and cards from a seed", (
        _p("accounts", {"type": "integer", "minimum": 1, "maximum": 10_000}),
        _p("cards", {"type": "integer", "minimum": 0, "maximum": 200_000}, True), _p("seed", {"type": "integer"})),
        "Fleet", ("ID-1",), scope="server", card=False),
    Operation("set_clock_mode", "Frozen, or accelerated at a rate (simulated seconds per second)", (
        _p("mode", {"enum": ["frozen", "accelerated"]}, True),
        _p("rate", {"type": "number", "exclusiveMinimum": 0, "maximum": 31_536_000})), None, scope="server",
        card=False),
    Operation("reset", "Start a new, empty world", (_p("seed", {"type": "integer"}),
                                                   _p("start", {"type": "string", "minLength": 1, "maxLength": 64})),
              None, scope="server", card=False),
    Operation("create_fault", "Inject latency or errors on a route (seeded)", (
        _p("method", {"enum": ["GET", "POST", "DELETE", "*"]}),
        _p("route", {"type": "string", "pattern": "^/v1", "maxLength": 200}, True),
        _p("latency_ms", {"type": "integer", "minimum": 0, "maximum": 60_000}),
        _p("error_rate", {"type": "number", "minimum": 0, "maximum": 1}),
        _p("status", {"type": "integer", "minimum": 400, "maximum": 599}), _p("seed", {"type": "integer"})),
        "Fault", scope="server", card=False),
    Operation("clear_faults", "Remove every injected fault", scope="server", card=False),
    Operation("create_webhook", "Register a webhook URL (events signed HMAC-SHA256)", (
        _p("url", {"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": 2000}, True),),
        "Webhook", ("LIFE-4",), card=False),
    Operation("delete_webhook", "Remove a webhook", (_p("webhook_id", {"type": "string"}, True),), None,
              card=False),
)

BY_NAME: Mapping[str, Operation] = {op.name: op for op in OPERATIONS}


class OperationError(ValueError):
    """An operation name or argument the table does not know: a programming or journal error, not a refusal."""


def operation(name: str) -> Operation:
    op = BY_NAME.get(name)
    if op is None:
        raise OperationError(f"no operation {name!r}; known: {', '.join(sorted(BY_NAME))}")
    return op


def invoke(receiver: Any, name: str, account: str | None, args: Mapping[str, Any]) -> Any:
    """Run operation ``name`` on ``receiver`` (a ``Simulation``, or a server's world facade for ``server`` ops):
    platform operations get the calling account (``account_id``). Arguments are checked against the table's parameter
    names (values are the engine's to judge), so every API and target calls the engine the same way."""
    op = operation(name)
    unknown = set(args) - set(op.param_names)
    if unknown:
        raise OperationError(f"{name} takes no argument {', '.join(sorted(unknown))}")
    method = getattr(receiver, name)
    if op.scope == "platform":
        if account is None:
            raise OperationError(f"{name} is a platform operation: it needs the calling account")
        return method(account_id=account, **args)
    return method(**args)
