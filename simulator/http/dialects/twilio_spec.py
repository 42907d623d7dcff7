"""The Twilio dialect's OpenAPI document (served at ``/twilio/openapi.json``): the subset of Twilio's own
``twilio_supersim_v1.json`` (twilio/twilio-oai) carriersim serves, with the response shapes it answers."""

from __future__ import annotations

from typing import Any

S = dict[str, Any]
NULL_STR: S = {"type": "string", "nullable": True}
ERROR: S = {"type": "object", "required": ["code", "message", "more_info", "status"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                           "more_info": {"type": "string"}, "status": {"type": "integer"}}}
SIM: S = {"type": "object", "required": ["sid", "account_sid", "iccid", "status", "url", "links"], "properties": {
    "sid": {"type": "string", "pattern": "^HS[0-9a-f]{32}$"}, "unique_name": NULL_STR,
    "account_sid": {"type": "string", "pattern": "^AC[0-9a-f]{32}$"}, "iccid": {"type": "string"},
    "status": {"type": "string", "enum": ["new", "ready", "active", "inactive", "scheduled"]},
    "fleet_sid": NULL_STR, "date_created": NULL_STR, "date_updated": NULL_STR, "url": {"type": "string"},
    "links": {"type": "object"}}}
FLEET: S = {"type": "object", "required": ["sid", "unique_name", "data_limit"], "properties": {
    "sid": {"type": "string"}, "unique_name": NULL_STR, "account_sid": {"type": "string"},
    "data_enabled": {"type": "boolean"}, "data_limit": {"type": "integer"},
    "data_metering": {"type": "string", "enum": ["payg"]}, "url": {"type": "string"}}}
USAGE: S = {"type": "object", "required": ["period", "data_total"], "properties": {
    "period": {"type": "object"}, "data_upload": {"type": "integer"}, "data_download": {"type": "integer"},
    "data_total": {"type": "integer"}, "data_total_billed": {"type": "number"}, "billed_unit": NULL_STR,
    "sim_sid": NULL_STR, "fleet_sid": NULL_STR, "account_sid": {"type": "string"}}}
PERIOD: S = {"type": "object", "required": ["sid", "sim_sid", "start_time", "end_time", "period_type"],
             "properties": {"sid": {"type": "string"}, "sim_sid": {"type": "string"},
                            "start_time": {"type": "string"}, "end_time": {"type": "string"},
                            "period_type": {"type": "string", "enum": ["ready", "active"]}}}
META: S = {"type": "object", "required": ["page", "page_size", "url", "key"], "properties": {
    "page": {"type": "integer"}, "page_size": {"type": "integer"}, "first_page_url": NULL_STR,
    "previous_page_url": NULL_STR, "url": {"type": "string"}, "next_page_url": NULL_STR,
    "key": {"type": "string"}}}


def _list(key: str, item: S) -> S:
    return {"type": "object", "required": [key, "meta"], "properties": {key: {"type": "array", "items": item},
                                                                       "meta": META}}


def _answers(ok: dict[str, S], *errors: int) -> S:
    out: S = {code: {"description": "answer", "content": {"application/json": {"schema": schema}}}
              for code, schema in ok.items()}
    for status in (401, 429, *errors):
        out[str(status)] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
    return out


def _q(name: str, schema: S | None = None) -> S:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


PAGING = [_q("PageSize", {"type": "integer", "minimum": 1, "maximum": 1000}),
          _q("Page", {"type": "integer", "minimum": 0}), _q("PageToken")]
SID = {"name": "sid", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
FORM = "application/x-www-form-urlencoded"


def document() -> S:
    return {
        "openapi": "3.0.3",
        "info": {"title": "carriersim — Twilio Super SIM dialect", "version": "1.0.0",
                 "description": "The Super SIM v1 API subset carriersim serves (see the README, Carrier dialects)."},
        "servers": [{"url": "/twilio"}],
        "components": {"securitySchemes": {"accountSid_authToken": {"type": "http", "scheme": "basic"}}},
        "security": [{"accountSid_authToken": []}],
        "paths": {
            "/v1/Sims": {
                "get": {"operationId": "ListSim", "parameters": [_q("Status", {"type": "string", "enum": [
                    "new", "ready", "active", "inactive", "scheduled"]}), _q("Fleet"), _q("Iccid"), *PAGING],
                        "responses": _answers({"200": _list("sims", SIM)}, 400, 404)},
                "post": {"operationId": "CreateSim", "requestBody": {"content": {FORM: {"schema": {
                    "type": "object", "required": ["Iccid", "RegistrationCode"],
                    "properties": {"Iccid": {"type": "string"}, "RegistrationCode": {"type": "string"}}}}}},
                         "responses": _answers({"201": SIM}, 400, 404, 409)}},
            "/v1/Sims/{sid}": {
                "get": {"operationId": "FetchSim", "parameters": [SID], "responses": _answers({"200": SIM}, 404)},
                "post": {"operationId": "UpdateSim", "parameters": [SID], "requestBody": {"content": {FORM: {
                    "schema": {"type": "object", "properties": {
                        "Status": {"type": "string", "enum": ["ready", "active", "inactive"]},
                        "Fleet": {"type": "string"}, "UniqueName": {"type": "string"},
                        "CallbackUrl": {"type": "string", "format": "uri"},
                        "CallbackMethod": {"type": "string", "enum": ["GET", "POST"]}}}}}},
                         "responses": _answers({"200": SIM, "202": SIM}, 400, 404, 409)}},
            "/v1/Sims/{sid}/BillingPeriods": {"get": {
                "operationId": "ListBillingPeriod", "parameters": [SID, *PAGING],
                "responses": _answers({"200": _list("billing_periods", PERIOD)}, 400, 404)}},
            "/v1/Fleets": {"get": {"operationId": "ListFleet", "parameters": PAGING,
                                   "responses": _answers({"200": _list("fleets", FLEET)}, 400)}},
            "/v1/Fleets/{sid}": {"get": {"operationId": "FetchFleet", "parameters": [SID],
                                         "responses": _answers({"200": FLEET}, 400, 404)}},
            "/v1/UsageRecords": {"get": {"operationId": "ListUsageRecord", "parameters": [
                _q("Sim"), _q("Fleet"), _q("Granularity", {"type": "string", "enum": ["hour", "day", "all"]}),
                _q("StartTime", {"type": "string", "format": "date-time"}),
                _q("EndTime", {"type": "string", "format": "date-time"}), *PAGING],
                "responses": _answers({"200": _list("usage_records", USAGE)}, 400, 404)}},
        },
    }
