"""The API's one description: every operation's method, path, request and response schemas.

The router registers handlers by ``operationId`` from this table, request bodies are validated against the same
schemas, and ``openapi()`` renders it as the OpenAPI 3.1 document served at ``/openapi.json`` and committed as
``simulator/http/openapi.json`` (a test keeps the file and the code in step). One source, so the document cannot
drift from the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..events import Kind
from ..model import REASON_NAMES, State
from ..operations import BATCH_OPERATIONS, ICCID, operation

S = dict[str, Any]
NULL_STR: S = {"type": ["string", "null"]}
DATETIME: S = {"type": "string", "format": "date-time"}
NULL_DATETIME: S = {"type": ["string", "null"], "format": "date-time"}
MONEY: S = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "CNY, exact, e.g. \"5.00\""}
STATES = [s.label for s in State]
REASONS = list(REASON_NAMES.values())


def obj(props: S, required: list[str] | None = None, *, extra: bool = False, **more: Any) -> S:
    """An object schema; request bodies refuse unknown fields (``extra=False``)."""
    out: S = {"type": "object", "properties": props, "additionalProperties": extra, **more}
    if required:
        out["required"] = required
    return out


def ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def items_of(name: str, **more: S) -> S:
    return obj({"items": {"type": "array", "items": ref(name)}, **more}, ["items"], extra=True)


USAGE: S = obj({
    "cycle_mb": {"type": "number"}, "quota_used_mb": {"type": "number"}, "addon_mb": {"type": "number"},
    "quota_mb": {"type": "number"}, "test_used_mb": {"type": "number"},
    "pool": obj({"id": {"type": "string"}, "used_mb": {"type": "number"}, "quota_mb": {"type": "number"}},
                ["id", "used_mb", "quota_mb"], extra=True),
}, ["cycle_mb", "quota_used_mb", "addon_mb", "quota_mb"], extra=True)

CARD: S = obj({
    "iccid": ICCID, "imsi": {"type": "string"}, "msisdn": {"type": "string"}, "carrier": {"type": "string"},
    "account": {"type": ["string", "null"]}, "state": {"enum": STATES},
    "reasons": {"type": "array", "items": {"enum": REASONS}},
    "plan": NULL_STR,
    "pending_change": {"oneOf": [{"type": "null"}, obj({"plan": {"type": "string"}, "effective_at": DATETIME},
                                                       ["plan", "effective_at"], extra=True)]},
    "term_start": NULL_DATETIME, "term_end": NULL_DATETIME, "prepaid_terms": {"type": "integer"},
    "balance": MONEY, "auto_suspend": {"type": "boolean"}, "auto_renew": {"type": "boolean"},
    "imei": NULL_STR, "device_changes": {"type": "integer"}, "verified": {"type": "boolean"},
    "usage": {"oneOf": [{"type": "null"}, USAGE]},
    "opened_at": DATETIME, "activated_at": NULL_DATETIME, "last_used_at": NULL_DATETIME,
    "expired_at": NULL_DATETIME, "retention_until": NULL_DATETIME, "real_name_deadline": NULL_DATETIME,
    "cancellation": {"oneOf": [{"type": "null"}, obj({"status": {"enum": ["under_review", "done"]}}, ["status"],
                                                     extra=True)]},
    "replaced_by": NULL_STR, "replaces": NULL_STR,
}, ["iccid", "imsi", "msisdn", "carrier", "state", "reasons", "plan", "balance", "auto_suspend", "auto_renew"],
    extra=True)

EVENT: S = obj({
    "seq": {"type": "integer", "minimum": 0}, "time": DATETIME, "kind": {"enum": [k.label for k in Kind]},
    "iccid": NULL_STR, "cause": {"enum": ["api", "clock", "usage", "world"]},
    "old_state": {"enum": STATES}, "new_state": {"enum": STATES},
    "reasons": {"type": "array", "items": {"enum": REASONS}}, "change": {"enum": ["added", "removed", "none"]},
    "amount": MONEY, "detail": {"type": "object"},
}, ["seq", "time", "kind", "iccid", "cause"], extra=True)

SCHEMAS: dict[str, S] = {
    "Problem": obj({"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "code": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object"}}},
                   ["type", "title", "status", "detail", "code"], extra=True),
    "Card": CARD,
    "CardPage": items_of("Card", next_cursor=NULL_STR),
    "Event": EVENT,
    "EventPage": items_of("Event", next_cursor={"type": "integer"}),
    "History": items_of("Event"),
    "Usage": USAGE,
    "LedgerEntry": obj({"seq": {"type": "integer"}, "time": DATETIME, "kind": {"type": "string"},
                        "item": NULL_STR, "amount": MONEY, "balance": MONEY},
                       ["seq", "time", "kind", "amount", "balance"], extra=True),
    "Ledger": items_of("LedgerEntry", balance=MONEY),
    "Plan": obj({"code": {"type": "string"}, "name": {"type": "string"}, "carrier": {"type": "string"},
                 "term": {"enum": ["monthly", "quarterly", "annual"]}, "term_months": {"type": "integer"},
                 "quota_mb": {"type": "integer"}, "quota_scope": {"enum": ["month", "term"]}, "price": MONEY,
                 "overage_per_mb": MONEY}, ["code", "carrier", "term", "quota_mb", "price"], extra=True),
    "PlanList": items_of("Plan"),
    "AddOn": obj({"code": {"type": "string"}, "name": {"type": "string"}, "quota_mb": {"type": "integer"},
                  "price": MONEY}, ["code", "quota_mb", "price"], extra=True),
    "AddOnList": items_of("AddOn"),
    "Carrier": obj({"id": {"type": "string"}, "name": {"type": "string"}, "timezone": {"type": "string"},
                    "billing_cycle_day": {"type": "integer"}, "retention_months": {"type": "integer"},
                    "retention_fee": MONEY, "arrears_auto_resume": {"type": "boolean"},
                    "real_name_grace_days": {"type": "integer"},
                    "restricted_regions": {"type": "array", "items": {"type": "string"}},
                    "maintenance_until": NULL_DATETIME}, ["id", "name"], extra=True),
    "CarrierList": items_of("Carrier"),
    "Account": obj({"id": {"type": "string"}, "name": {"type": "string"},
                    "kind": {"enum": ["enterprise", "personal"]}, "channel": {"type": "string"},
                    "verified": {"type": "boolean"}, "balance": MONEY, "cards": {"type": "integer"}},
                   ["id", "name", "kind"], extra=True),
    "Pool": obj({"id": {"type": "string"}, "carrier": {"type": "string"}, "name": {"type": "string"},
                 "members": {"type": "array", "items": ICCID}, "used_mb": {"type": "number"},
                 "quota_mb": {"type": "number"}}, ["id", "carrier", "members"], extra=True),
    "PoolList": items_of("Pool"),
    "TopUp": obj({"payment": {"type": "integer", "description": "event number of the payment (for REF-1)"},
                  "card": ref("Card")}, ["payment", "card"], extra=True),
    "Renewal": obj({"result": {"enum": ["restored", "prepaid"]}, "card": ref("Card")}, ["result", "card"],
                   extra=True),
    "CancellationRequest": obj({"iccid": ICCID, "review": {"enum": ["standard", "manual"]}, "due": DATETIME},
                               ["iccid", "review", "due"], extra=True),
    "Certificate": obj({"number": {"type": "string"}, "iccid": ICCID, "msisdn": {"type": "string"},
                        "carrier": {"type": "string"}, "cancelled_at": DATETIME}, ["number", "iccid"], extra=True),
    "Refund": obj({"amount": MONEY, "card": ref("Card")}, ["amount", "card"], extra=True),
    "BatchJob": obj({"id": {"type": "string"}, "status": {"enum": ["completed"]}, "operation": {"type": "string"},
                     "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
                     "rows": {"type": "array", "items": obj({"row": {"type": "integer"}, "iccid": {"type": "string"},
                                                             "ok": {"type": "boolean"}}, ["row", "ok"], extra=True)}},
                    ["id", "status", "operation", "succeeded", "failed", "rows"], extra=True),
    "Webhook": obj({"id": {"type": "string"}, "url": {"type": "string"}, "secret": {"type": "string"},
                    "delivered": {"type": "integer"}, "failures": {"type": "integer"}, "cursor": {"type": "integer"}},
                   ["id", "url"], extra=True),
    "WebhookList": items_of("Webhook"),
    "Clock": obj({"now": DATETIME, "mode": {"enum": ["frozen", "accelerated"]}, "rate": {"type": "number"}},
                 ["now", "mode", "rate"], extra=True),
    "Advance": obj({"from": DATETIME, "to": DATETIME, "jobs": {"type": "integer"}, "events": {"type": "integer"},
                    "now": DATETIME}, ["from", "to", "jobs", "events"], extra=True),
    "NewAccount": obj({"account": ref("Account"), "api_key": {"type": "string"}}, ["account", "api_key"],
                      extra=True),
    "ApiKey": obj({"account": {"type": "string"}, "api_key": {"type": "string"}}, ["account", "api_key"],
                  extra=True),
    "Fleet": obj({"accounts": {"type": "array", "items": ref("ApiKey")}, "cards": {"type": "integer"}},
                 ["accounts", "cards"], extra=True),
    "UsageResult": obj({"iccid": ICCID, "accepted_kb": {"type": "integer"}, "refused_kb": {"type": "integer"},
                        "refused_because": NULL_STR, "state": {"enum": STATES},
                        "reasons": {"type": "array", "items": {"enum": REASONS}}},
                       ["iccid", "accepted_kb", "refused_kb", "state"], extra=True),
    "UsageBatchResult": obj({"reports": {"type": "integer"}, "accepted_kb": {"type": "integer"},
                             "refused_kb": {"type": "integer"},
                             "refused": {"type": "object", "additionalProperties": {"type": "integer"}}},
                            ["reports", "accepted_kb", "refused_kb", "refused"], extra=True),
    "Profile": obj({"id": {"type": "string"}, "name": {"type": "string"}, "timezone": {"type": "string"},
                    "plans": {"type": "array", "items": {"type": "object"}}}, ["id"], extra=True),
    "Maintenance": obj({"carrier": {"type": "string"}, "until": DATETIME}, ["carrier", "until"], extra=True),
    "Snapshot": obj({"id": {"type": "integer"}, "name": NULL_STR, "journal_seq": {"type": "integer"},
                     "sim_time": DATETIME, "created": DATETIME, "kind": {"enum": ["auto", "named", "imported"]},
                     "size": {"type": "integer"}}, ["id", "name", "journal_seq", "sim_time", "kind"], extra=True),
    "SnapshotList": items_of("Snapshot"),
    "Restored": obj({"snapshot": {"type": "integer"}, "now": DATETIME}, ["snapshot", "now"], extra=True),
    "Rewound": obj({"to": DATETIME, "snapshot": {"type": "integer"}, "now": DATETIME}, ["to", "snapshot", "now"],
                   extra=True),
    "World": obj({"id": {"type": "string"}, "created": DATETIME,
                  "clock": obj({"now": DATETIME, "mode": {"enum": ["frozen", "accelerated"]},
                                "rate": {"type": "number"}}, ["now", "mode", "rate"], extra=True),
                  "carriers": {"type": "array", "items": {"type": "string"}}, "accounts": {"type": "integer"},
                  "cards": {"type": "integer"}, "durable": {"type": "boolean"},
                  "ttl": {"type": ["number", "null"], "description": "idle seconds (real time) before deletion"},
                  "expires_in": {"type": ["integer", "null"]},
                  "control": {"type": "string", "description": "where the world's test control is mounted"}},
                 ["id", "clock", "control"], extra=True),
    "WorldList": items_of("World"),
    "NewWorld": obj({"id": {"type": "string"}, "admin_token": {"type": "string",
                                                               "description": "this world's own /_sim token"},
                     "control": {"type": "string"}, "clock": {"type": "object"},
                     "fleet": {"type": "object", "description": "with fleet: the accounts and their keys"}},
                    ["id", "admin_token", "control", "clock"], extra=True),
    "Fault": obj({"id": {"type": "string"}, "method": {"type": "string"}, "route": {"type": "string"},
                  "latency_ms": {"type": "integer"}, "error_rate": {"type": "number"}, "status": {"type": "integer"},
                  "seed": {"type": "integer"}}, ["id", "route"], extra=True),
    "FaultList": items_of("Fault"),
    # ------------------------------------------------------------------ the dashboard's reads (admin)
    "Overview": obj({"now": DATETIME, "total": {"type": "integer"},
                     "by_carrier": {"type": "object", "additionalProperties": {
                         "type": "object", "additionalProperties": {"type": "integer"}}},
                     "accounts": {"type": "array", "items": {"type": "string"}},
                     "pools": {"type": "array", "items": {"type": "string"}}}, ["now", "total", "by_carrier"],
                    extra=True),
    "AdminCardPage": items_of("Card", next_cursor=NULL_STR, total={"type": "integer"}),
    "Band": obj({"state": {"enum": STATES}, "reasons": {"type": "array", "items": {"enum": REASONS}},
                 "from": DATETIME, "to": NULL_DATETIME}, ["state", "reasons", "from", "to"], extra=True),
    "CardLife": obj({"card": ref("Card"), "bands": {"type": "array", "items": ref("Band")},
                     "history": {"type": "array", "items": ref("Event")},
                     "ledger": {"type": "array", "items": ref("LedgerEntry")},
                     "cycles": {"type": "array", "items": {"type": "object"}},
                     "deadlines": {"type": "object"}, "now": DATETIME},
                    ["card", "bands", "history", "ledger", "now"], extra=True),
    "Recording": obj({"id": {"type": "string"}, "status": {"enum": ["running", "stopped"]},
                      "file": {"type": "string"}, "started_at": DATETIME, "stopped_at": NULL_DATETIME,
                      "entries": {"type": "integer"}}, ["id", "status", "file", "entries"], extra=True),
    "RecordingList": items_of("Recording", dir=NULL_STR),
}

# ---------------------------------------------------------------------------------------------- request bodies

SNAPSHOT_NAME: S = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}


def _body(op_name: str, *, omit: tuple[str, ...] = ("iccid",), **more: Any) -> S:
    """A request body: the operation's parameters (from the operation table) less those in the path."""
    return operation(op_name).schema(omit=omit, **more)


ONE_OF_TIME = {"oneOf": [{"required": ["to"]}, {"required": ["by"]}]}
BODIES: dict[str, S] = {
    "OpenCard": _body("open_card", omit=()),
    "Activation": _body("activate"),
    "PlanChange": _body("change_plan"),
    "TopUpRequest": _body("top_up"),
    "AddOnPurchase": _body("buy_addon"),
    "Identity": _body("verify_identity"),
    "Device": _body("rebind_device"),
    "AutoRenew": _body("set_auto_renew"),
    "Swap": _body("swap"),
    "CancellationBody": _body("request_cancellation"),
    "RefundRequest": _body("request_refund"),
    "NewPool": _body("create_pool", omit=()),
    "PoolMember": _body("add_to_pool", omit=("pool_id",)),
    "NewWebhook": _body("create_webhook", omit=()),
    "AdvanceRequest": _body("advance", omit=(), **ONE_OF_TIME),
    "ClockMode": _body("set_clock_mode", omit=()),
    "NewAccountRequest": _body("create_account", omit=()),
    "FleetRequest": _body("generate_fleet", omit=()),
    "UsageReport": _body("report_usage"),
    "UsageBatch": _body("report_usage_many", omit=()),
    "CarrierHold": _body("carrier_bar"),
    "MaintenanceRequest": _body("start_maintenance", omit=("carrier",),
                                oneOf=[{"required": ["until"]}, {"required": ["duration"]}]),
    "FaultRequest": _body("create_fault", omit=()),
    "ResetRequest": _body("reset", omit=()),
    "SnapshotRequest": obj({"name": SNAPSHOT_NAME}, ["name"]),
    "NewWorldRequest": obj({
        "seed": {"type": "integer", "description": "default: the server's seed"},
        "start": {"type": "string", "minLength": 1, "maxLength": 64,
                  "description": "the simulated start time, ISO-8601 (default: the default world's clock)"},
        "profiles": {"type": "array", "minItems": 1, "maxItems": 32, "items": {"oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 64, "description": "a carrier id the server has"},
            {"type": "object", "description": "a carrier profile document (profile.schema.json)"}]},
            "description": "the world's carriers (default: the server's)"},
        "fleet": {"type": "integer", "minimum": 0, "maximum": 200_000, "description": "cards to generate"},
        "clock": obj({"mode": {"enum": ["frozen", "accelerated"]},
                      "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 31_536_000}}),
        "ttl": {"type": "integer", "minimum": 1, "maximum": 30 * 86400,
                "description": "idle seconds (real time) before the world is deleted (default: --world-ttl)"},
    }),
    "RewindRequest": obj({"to": {"type": "string", "minLength": 1, "maxLength": 64,
                                 "description": "a simulated time on the current timeline, ISO-8601"}}, ["to"]),
}

# multipart/form-data bodies (documented; read by the dispatcher, not JSON-validated)
FORMS: dict[str, S] = {
    "BatchUpload": obj({
        "operation": {"type": "string", "enum": list(BATCH_OPERATIONS)},
        "document": {"type": "string", "maxLength": 32},
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "The filled-in template, .csv or .xlsx (by the file name's extension, or by its "
                                "content when the name has none)"}}, ["operation", "file"]),
    "SnapshotUpload": obj({
        "name": SNAPSHOT_NAME,
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "A file from GET /_sim/snapshots/{name}/export"}}, ["name", "file"]),
}


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    response: str | None  # schema name; None: 204 No Content
    status: int = 200
    body: str | None = None  # request body schema name (JSON)
    query: tuple[tuple[str, S], ...] = ()
    tag: str = "cards"
    control: bool = False  # under /_sim: admin token
    multipart: bool = False
    form: str = "BatchUpload"  # the multipart/form-data schema (in FORMS) of a multipart operation
    binary: bool = False  # the success response is a file (application/octet-stream)
    stream: bool = False  # the success response is a stream of server-sent events (text/event-stream)
    errors: tuple[int, ...] = field(default=(404, 409, 422))
    links: tuple["Link", ...] = ()  # OpenAPI links from the success response (stateful testing, client codegen)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the success response of one operation feeds a parameter of another (``target``)."""

    target: str  # operationId
    parameters: tuple[tuple[str, str], ...]  # (parameter name, runtime expression)

    @property
    def name(self) -> str:
        return self.target[0].upper() + self.target[1:]


def links_to(targets: tuple[str, ...], **parameters: str) -> tuple[Link, ...]:
    """The same parameters (e.g. ``iccid="$response.body#/iccid"``) fed to each of ``targets``."""
    return tuple(Link(t, tuple(parameters.items())) for t in targets)


def _card(op_id: str, method: str, suffix: str, summary: str, response: str = "Card", **kw: Any) -> Operation:
    return Operation(op_id, method, "/v1/cards/{iccid}" + suffix, summary, response, **kw)


# Where a card's ICCID leads: every operation on that card (native and test control). The links below chain
# them (open → activate → use → suspend/resume/lose/swap/cancel …) for stateful tests and generated clients.
CARD_READS = ("getCard", "getCardHistory", "getCardUsage", "getCardLedger")
CARD_OPS = (*CARD_READS, "activateCard", "changePlan", "withdrawPlanChange", "topUp", "buyAddOn", "renewCard",
            "suspendCard", "resumeCard", "reactivateCard", "verifyIdentity", "rebindDevice", "unbindDevice",
            "setAutoRenew", "appealRegion", "reportLost", "swapCard", "requestCancellation", "getCertificate",
            "requestRefund", "reportUsage", "barCard", "releaseCard")
IN_SERVICE = ("getCard", "getCardUsage", "reportUsage", "suspendCard", "resumeCard", "buyAddOn", "renewCard",
              "changePlan", "rebindDevice", "unbindDevice", "setAutoRenew", "reportLost", "barCard")
ICCID_OF = "$response.body#/iccid"
CARD_ICCID_OF = "$response.body#/card/iccid"

PAGE = (("cursor", {"type": "string", "pattern": "^[0-9]{1,9}$"}),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}))

OPERATIONS: tuple[Operation, ...] = (
    Operation("getAccount", "GET", "/v1/account", "The caller's account", "Account", tag="account", errors=()),
    Operation("listCarriers", "GET", "/v1/carriers", "Carriers and their profile parameters", "CarrierList",
              tag="catalogue", errors=()),
    Operation("listPlans", "GET", "/v1/carriers/{carrier}/plans", "A carrier's plan catalogue", "PlanList",
              tag="catalogue", errors=(404,)),
    Operation("listAddOns", "GET", "/v1/carriers/{carrier}/addons", "A carrier's add-on packs", "AddOnList",
              tag="catalogue", errors=(404,)),
    Operation("listCards", "GET", "/v1/cards", "The account's cards, filtered and paged", "CardPage",
              query=(("state", {"enum": STATES}), ("reason", {"enum": REASONS}),
                     ("carrier", {"type": "string", "maxLength": 32}), ("pool", {"type": "string", "maxLength": 32}),
                     *PAGE), errors=(422,)),
    Operation("openCard", "POST", "/v1/cards", "Open (sell) a card with a paid plan (BILL-1)", "Card", status=201,
              body="OpenCard", errors=(402, 404, 409, 422, 503), links=links_to(CARD_OPS, iccid=ICCID_OF)),
    _card("getCard", "GET", "", "A card, with its pending plan change and when it takes effect",
          errors=(404, 422, 503)),
    _card("getCardHistory", "GET", "/history", "The card's events (LIFE-4)", "History", errors=(404, 422, 503)),
    _card("getCardUsage", "GET", "/usage", "Usage of the current cycle and quota period", "Usage",
          errors=(404, 422, 503)),
    _card("getCardLedger", "GET", "/ledger", "Charges, payments and refunds with running balance", "Ledger",
          errors=(404, 422, 503)),
    _card("activateCard", "POST", "/activation", "Activate; binds the device (BIND-1)", body="Activation",
          errors=(404, 409, 422, 503), links=links_to(IN_SERVICE, iccid=ICCID_OF)),
    _card("changePlan", "POST", "/plan-change", "Change plan from the next cycle (PLAN-1/2)", body="PlanChange",
          errors=(402, 404, 409, 422, 503), links=links_to(("getCard", "withdrawPlanChange"), iccid=ICCID_OF)),
    _card("withdrawPlanChange", "DELETE", "/plan-change", "Withdraw the pending plan change (PLAN-2)",
          errors=(404, 409, 422, 503)),
    _card("topUp", "POST", "/top-ups", "Pay into the card's balance (BILL-5)", "TopUp", status=201,
          body="TopUpRequest", errors=(404, 409, 422, 503),
          links=links_to(("getCardLedger", "reactivateCard", "renewCard", "buyAddOn", "changePlan"),
                         iccid=CARD_ICCID_OF)),
    _card("buyAddOn", "POST", "/addons", "Buy an add-on pack (QUOTA-3)", body="AddOnPurchase",
          errors=(402, 404, 409, 422, 503)),
    _card("renewCard", "POST", "/renewal", "Renew (EXP-2) or prepay the next term (QUOTA-4)", "Renewal",
          errors=(402, 404, 409, 422, 503), links=links_to(("getCard", "requestRefund"), iccid=CARD_ICCID_OF)),
    _card("suspendCard", "POST", "/suspension", "Manual stop (MAN-1)", errors=(404, 409, 422, 503),
          links=links_to(("resumeCard", "reportUsage", "getCardHistory"), iccid=ICCID_OF)),
    _card("resumeCard", "POST", "/resumption", "Manual resume (MAN-1)", errors=(404, 409, 422, 503)),
    _card("reactivateCard", "POST", "/reactivation", "Resume after paying arrears, where required (BILL-5)",
          errors=(402, 404, 409, 422, 503)),
    _card("verifyIdentity", "POST", "/identity", "Real-name verification (KYC-1)", body="Identity",
          errors=(404, 409, 422, 503)),
    _card("rebindDevice", "POST", "/device", "Bind to a new device (BIND-1)", body="Device",
          errors=(404, 409, 422, 503)),
    _card("unbindDevice", "DELETE", "/device", "Release the device binding (before CAN-1)",
          errors=(404, 409, 422, 503), links=links_to(("requestCancellation", "rebindDevice"), iccid=ICCID_OF)),
    _card("setAutoRenew", "POST", "/auto-renew", "Turn auto-renewal on or off", body="AutoRenew",
          errors=(404, 409, 422, 503), links=links_to(("unbindDevice", "requestCancellation"), iccid=ICCID_OF)),
    _card("appealRegion", "POST", "/region-appeal", "Appeal a restricted-region stop (REG-1)",
          errors=(404, 409, 422, 503)),
    _card("reportLost", "POST", "/loss-report", "Report the card lost (LOST-1)", errors=(404, 409, 422, 503),
          links=links_to(("swapCard", "resumeCard", "appealRegion"), iccid=ICCID_OF)),
    _card("swapCard", "POST", "/swap", "Replace the card; returns the new card (SWAP-1)", status=201, body="Swap",
          errors=(404, 409, 422, 503), links=links_to(("getCard", "getCardHistory", "activateCard"), iccid=ICCID_OF)),
    _card("requestCancellation", "POST", "/cancellation", "Ask for cancellation (CAN-1/2/3)", "CancellationRequest",
          status=202, body="CancellationBody", errors=(404, 409, 422, 503),
          links=links_to(("getCard", "getCertificate", "requestRefund"), iccid=ICCID_OF)),
    _card("getCertificate", "GET", "/certificate", "The cancellation certificate (CAN-4)", "Certificate",
          errors=(404, 422, 503)),
    _card("requestRefund", "POST", "/refunds", "Ask for a refund (REF-1, CAN-4)", "Refund", status=201,
          body="RefundRequest", errors=(404, 409, 422, 503)),
    Operation("listPools", "GET", "/v1/pools", "The account's pools (POOL-1)", "PoolList", tag="pools", errors=()),
    Operation("createPool", "POST", "/v1/pools", "Create a shared data pool", "Pool", status=201, body="NewPool",
              tag="pools", errors=(404, 422),
              links=(*links_to(("getPool", "addPoolMember"), pool_id="$response.body#/id"),
                     Link("listCards", (("pool", "$response.body#/id"),)))),
    Operation("getPool", "GET", "/v1/pools/{pool_id}", "A pool with its members and usage", "Pool", tag="pools",
              errors=(404,)),
    Operation("addPoolMember", "POST", "/v1/pools/{pool_id}/members", "Add a card to a pool", "Pool",
              body="PoolMember", tag="pools", errors=(404, 409, 422, 503),
              links=links_to(("getPool",), pool_id="$response.body#/id")),
    Operation("createBatchJob", "POST", "/v1/batch-jobs", "Run an operation over a CSV/.xlsx template (BATCH-1)",
              "BatchJob", status=201, multipart=True, tag="batch", errors=(404, 413, 422),
              links=links_to(("getBatchJob",), job_id="$response.body#/id")),
    Operation("getBatchJob", "GET", "/v1/batch-jobs/{job_id}", "A batch job and its per-row results", "BatchJob",
              tag="batch", errors=(404,)),
    Operation("listEvents", "GET", "/v1/events", "The account's events after a cursor", "EventPage",
              query=(("cursor", {"type": "integer", "minimum": 0}),
                     ("limit", {"type": "integer", "minimum": 1, "maximum": 1000})), tag="events", errors=(422,)),
    Operation("createWebhook", "POST", "/v1/webhooks", "Register a webhook URL (events signed HMAC-SHA256)",
              "Webhook", status=201, body="NewWebhook", tag="events", errors=(422,),
              links=links_to(("deleteWebhook",), webhook_id="$response.body#/id")),
    Operation("listWebhooks", "GET", "/v1/webhooks", "The account's webhooks", "WebhookList", tag="events",
              errors=()),
    Operation("deleteWebhook", "DELETE", "/v1/webhooks/{webhook_id}", "Remove a webhook", None, status=204,
              tag="events", errors=(404,)),
    # ------------------------------------------------------------------ test control
    Operation("getClock", "GET", "/_sim/clock", "The simulated time and clock mode", "Clock", control=True,
              tag="control", errors=()),
    Operation("advanceClock", "POST", "/_sim/clock/advance", "Move the clock forward; answers once settled",
              "Advance", body="AdvanceRequest", control=True, tag="control", errors=(409, 422)),
    Operation("setClockMode", "POST", "/_sim/clock/mode", "Frozen, or accelerated at a rate (simulated s per s)",
              "Clock", body="ClockMode", control=True, tag="control", errors=(422,)),
    Operation("createAccount", "POST", "/_sim/accounts", "Create an account and its first API key", "NewAccount",
              status=201, body="NewAccountRequest", control=True, tag="control", errors=(409, 422),
              links=links_to(("createApiKey",), account_id="$response.body#/account/id")),
    Operation("createApiKey", "POST", "/_sim/accounts/{account_id}/keys", "Issue another API key", "ApiKey",
              status=201, control=True, tag="control", errors=(404,)),
    Operation("generateFleet", "POST", "/_sim/fleet", "Generate accounts and cards from a seed", "Fleet",
              status=201, body="FleetRequest", control=True, tag="control", errors=(422,)),
    Operation("reportUsage", "POST", "/_sim/cards/{iccid}/usage", "Traffic seen by the network (region, device)",
              "UsageResult", body="UsageReport", control=True, tag="control", errors=(404, 422),
              links=links_to(("getCardUsage", "appealRegion", "rebindDevice", "buyAddOn", "reportUsage"),
                             iccid=ICCID_OF)),
    Operation("reportUsageBatch", "POST", "/_sim/usage", "Traffic seen by the network for many cards at once",
              "UsageBatchResult", body="UsageBatch", control=True, tag="control", errors=(404, 422)),
    Operation("barCard", "POST", "/_sim/cards/{iccid}/carrier-hold", "The carrier stops a card (LIFE-2 carrier)",
              "Card", body="CarrierHold", control=True, tag="control", errors=(404, 409, 422),
              links=links_to(("releaseCard", "getCard", "resumeCard"), iccid=ICCID_OF)),
    Operation("releaseCard", "DELETE", "/_sim/cards/{iccid}/carrier-hold", "The carrier releases its hold", "Card",
              control=True, tag="control", errors=(404, 409, 422)),
    Operation("getProfile", "GET", "/_sim/carriers/{carrier}/profile", "The carrier profile's parameters, as "
              "loaded (CAR-2)", "Profile", control=True, tag="control", errors=(404,)),
    Operation("startMaintenance", "POST", "/_sim/carriers/{carrier}/maintenance", "Open a maintenance window "
              "(MAINT-1)", "Maintenance", body="MaintenanceRequest", control=True, tag="control",
              errors=(404, 409, 422),
              links=links_to(("endMaintenance", "listPlans"), carrier="$response.body#/carrier")),
    Operation("endMaintenance", "DELETE", "/_sim/carriers/{carrier}/maintenance", "Close the window now", None,
              status=204, control=True, tag="control", errors=(404, 409)),
    Operation("createFault", "POST", "/_sim/faults", "Inject latency or errors on a route (seeded)", "Fault",
              status=201, body="FaultRequest", control=True, tag="control", errors=(422,)),
    Operation("listFaults", "GET", "/_sim/faults", "The injected faults", "FaultList", control=True, tag="control",
              errors=()),
    Operation("clearFaults", "DELETE", "/_sim/faults", "Remove every injected fault", None, status=204,
              control=True, tag="control", errors=()),
    Operation("resetWorld", "POST", "/_sim/reset", "Start a new, empty world", "Clock", body="ResetRequest",
              control=True, tag="control", errors=(422,)),
    # ------------------------------------------------------------------ worlds
    Operation("createWorld", "POST", "/_sim/worlds", "A new, isolated world with its own clock, keys and admin "
              "token; its test control is /_sim/worlds/{id}/… (every /_sim route)", "NewWorld", status=201,
              body="NewWorldRequest", control=True, tag="worlds", errors=(409, 422)),
    Operation("listWorlds", "GET", "/_sim/worlds", "The worlds on this server, the default one first", "WorldList",
              control=True, tag="worlds", errors=()),
    Operation("getWorld", "GET", "/_sim/worlds/{world_id}", "One world (its own token or the server's)", "World",
              control=True, tag="worlds", errors=(404,)),
    Operation("deleteWorld", "DELETE", "/_sim/worlds/{world_id}", "Delete a world and its data", None, status=204,
              control=True, tag="worlds", errors=(404, 409)),
    # ------------------------------------------------------------------ durable state (--db)
    Operation("createSnapshot", "POST", "/_sim/snapshots", "Save the world under a name", "Snapshot", status=201,
              body="SnapshotRequest", control=True, tag="snapshots", errors=(409, 422)),
    Operation("listSnapshots", "GET", "/_sim/snapshots", "Named, imported and automatic snapshots",
              "SnapshotList", control=True, tag="snapshots", errors=(409,)),
    Operation("restoreSnapshot", "POST", "/_sim/snapshots/{name}/restore", "Go back to a snapshot; the clock "
              "runs on from there", "Restored", control=True, tag="snapshots", errors=(404, 409)),
    Operation("exportSnapshot", "GET", "/_sim/snapshots/{name}/export", "A snapshot as a file, to hand over",
              None, binary=True, control=True, tag="snapshots", errors=(404, 409)),
    Operation("importSnapshot", "POST", "/_sim/snapshots/import", "Add a snapshot file from another machine",
              "Snapshot", status=201, multipart=True, form="SnapshotUpload", control=True, tag="snapshots",
              errors=(409, 413, 422)),
    Operation("rewindTimeline", "POST", "/_sim/rewind", "The world as it was at a simulated time, by replaying "
              "the journal", "Rewound", body="RewindRequest", control=True, tag="snapshots", errors=(409, 422)),
    # ------------------------------------------------------------------ the dashboard's reads (any account's cards)
    Operation("getOverview", "GET", "/_sim/overview", "Cards by carrier and state, accounts and pools",
              "Overview", control=True, tag="dashboard", errors=()),
    Operation("searchCards", "GET", "/_sim/cards", "Every account's cards: search by ICCID/MSISDN, filter by "
              "state, reason, carrier, account, pool", "AdminCardPage",
              query=(("q", {"type": "string", "maxLength": 40}), ("state", {"enum": STATES}),
                     ("reason", {"enum": REASONS}), ("carrier", {"type": "string", "maxLength": 32}),
                     ("account", {"type": "string", "maxLength": 64}), ("pool", {"type": "string", "maxLength": 64}),
                     *PAGE), control=True, tag="dashboard", errors=(422,)),
    Operation("getCardLife", "GET", "/_sim/cards/{iccid}/life", "A card's life: state bands over simulated time, "
              "history, ledger with running balance, usage per cycle, deadlines", "CardLife", control=True,
              tag="dashboard", errors=(404, 422)),
    Operation("listWorldEvents", "GET", "/_sim/events", "Every event of the world after a cursor", "EventPage",
              query=(("cursor", {"type": "integer", "minimum": 0}),
                     ("limit", {"type": "integer", "minimum": 1, "maximum": 1000})), control=True, tag="dashboard",
              errors=(422,)),
    Operation("streamEvents", "GET", "/_sim/events/stream", "Events as server-sent events (text/event-stream), "
              "live while the clock moves; resumes from Last-Event-ID or ?cursor", None, stream=True,
              query=(("cursor", {"type": "integer", "minimum": 0}),), control=True, tag="dashboard",
              errors=(422,)),
    # ------------------------------------------------------------------ the recorder (serve --record DIR)
    Operation("startRecording", "POST", "/_sim/recordings", "Start recording every request, world action and "
              "clock move (with the answers) into the --record directory", "Recording", status=201,
              control=True, tag="recorder", errors=(409, 422)),
    Operation("listRecordings", "GET", "/_sim/recordings", "The recordings of the --record directory",
              "RecordingList", control=True, tag="recorder", errors=()),
    Operation("getRecording", "GET", "/_sim/recordings/{recording_id}", "A recording", "Recording", control=True,
              tag="recorder", errors=(404, 409)),
    Operation("stopRecording", "POST", "/_sim/recordings/{recording_id}/stop", "Stop a recording (then "
              "carriersim record export ID turns it into a scenario)", "Recording", control=True, tag="recorder",
              errors=(404, 409)),
)

BY_ID = {op.id: op for op in OPERATIONS}
# The native writes that are one engine operation each, with the path parameters and the body as its arguments
# (simulator.operations): the dispatcher runs them generically; answers.SHAPES shapes their answers.
ENGINE_OPERATION = {
    "openCard": "open_card", "activateCard": "activate", "changePlan": "change_plan",
    "withdrawPlanChange": "withdraw_plan_change", "topUp": "top_up", "buyAddOn": "buy_addon", "renewCard": "renew",
    "suspendCard": "suspend", "resumeCard": "resume", "reactivateCard": "reactivate",
    "verifyIdentity": "verify_identity", "rebindDevice": "rebind_device", "unbindDevice": "unbind_device",
    "setAutoRenew": "set_auto_renew", "appealRegion": "appeal_region", "reportLost": "report_lost",
    "swapCard": "swap", "requestCancellation": "request_cancellation", "requestRefund": "request_refund",
    "createPool": "create_pool", "addPoolMember": "add_to_pool", "createWebhook": "create_webhook",
    "deleteWebhook": "delete_webhook",
}
_PARAM_SCHEMAS = {"iccid": {"type": "string", "minLength": 1, "maxLength": 40}, "carrier": {"type": "string"},
                  "pool_id": {"type": "string"}, "job_id": {"type": "string"}, "webhook_id": {"type": "string"},
                  "account_id": {"type": "string"}, "world_id": {"type": "string", "minLength": 1, "maxLength": 64},
                  "recording_id": {"type": "string", "minLength": 1, "maxLength": 64},
                  "name": {"type": "string", "minLength": 1, "maxLength": 64}}
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Malformed request",
                401: "Missing or unknown credentials", 402: "Balance too low (BILL-1)", 404: "Not found (or not "
                "yours: PLAN-3)", 409: "Refused in the current state", 413: "Body too large",
                422: "Invalid input", 429: "Too many requests", 503: "Carrier in maintenance (Retry-After)"}

_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "How to authenticate (a bearer token)", "required": True,
                               "schema": {"type": "string", "pattern": "^Bearer"}}},
    503: {"Retry-After": {"description": "Seconds until the maintenance window closes (MAINT-1)",
                          "required": True, "schema": {"type": "integer", "minimum": 1}}},
}


def openapi(version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths: dict[str, Any] = {}
    problem = {"application/problem+json": {"schema": ref("Problem")}}
    for op in OPERATIONS:
        params = [{"name": n, "in": "path", "required": True, "schema": _PARAM_SCHEMAS[n]}
                  for n in _path_params(op.path)]
        params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query]
        responses: dict[str, Any] = {}
        if op.binary:
            responses[str(op.status)] = {"description": _STATUS_TEXT[op.status], "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "contentMediaType": "application/octet-stream"}}}}
        elif op.stream:
            responses[str(op.status)] = {"description": _STATUS_TEXT[op.status], "content": {
                "text/event-stream": {"schema": {"type": "string", "description": "id: <seq>, event: <kind>, "
                                                 "data: an Event (JSON), one per event"}}}}
        elif op.response is None:
            responses[str(op.status)] = {"description": _STATUS_TEXT[op.status]}
        else:
            responses[str(op.status)] = {"description": _STATUS_TEXT[op.status],
                                         "content": {"application/json": {"schema": ref(op.response)}}}
        if op.links:
            responses[str(op.status)]["links"] = {link.name: {"operationId": link.target,
                                                              "parameters": dict(link.parameters)}
                                                  for link in op.links}
        for code in sorted({400, 401, *op.errors} | ({413} if op.body or op.multipart else set())
                           | ({409, 422} if op.method == "POST" else set())):  # Idempotency-Key reused / invalid
            responses[str(code)] = {"description": _STATUS_TEXT[code], "content": problem}
            if code in _ERROR_HEADERS:
                responses[str(code)]["headers"] = _ERROR_HEADERS[code]
        if op.method == "POST":
            responses[str(op.status)]["headers"] = {"Idempotent-Replayed": {
                "description": "Present on a retry with the same Idempotency-Key: the first response, replayed",
                "required": False, "schema": {"const": "true"}}}
        entry: dict[str, Any] = {"operationId": op.id, "summary": op.summary, "tags": [op.tag],
                                 "security": [{"adminToken": []}] if op.control else [{"apiKey": []}],
                                 "responses": responses}
        if params:
            entry["parameters"] = params
        if op.method == "POST":
            entry["parameters"] = entry.get("parameters", []) + [
                {"name": "Idempotency-Key", "in": "header", "required": False,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                 "description": "A retry with the same key returns the first response and applies nothing twice"}]
        if op.body:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": {"$ref":
                                                f"#/components/schemas/{op.body}"}}}}
        if op.multipart:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": FORMS[op.form]}}}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "carriersim native API", "version": version,
                 "description": "A fake multi-carrier IoT connectivity platform with a clock you can move. "
                                "Errors are RFC 9457 problem documents with a stable `code`. One server holds "
                                "many isolated worlds (POST /_sim/worlds): an API key reaches its own world, and "
                                "every /_sim route of a world is also served under /_sim/worlds/{world_id}, "
                                "behind that world's own admin token."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **BODIES},
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An account's API key"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "The server's admin token"},
            },
        },
    }


def _params_of(op: Operation) -> set[str]:
    return {*_path_params(op.path), *(name for name, _ in op.query)}


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


# Links are data in the table; a typo in a target or parameter name fails at import, not in a client.
assert all(link.target in BY_ID and {n for n, _ in link.parameters} <= _params_of(BY_ID[link.target])
           for op in OPERATIONS for link in op.links), "a link names an unknown operation or parameter"

if __name__ == "__main__":  # python -m carriersim.simulator.http.spec > simulator/http/openapi.json
    import json
    import sys

    json.dump(openapi(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
