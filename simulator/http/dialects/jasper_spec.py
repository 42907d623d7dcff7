"""The Control Center dialect's OpenAPI document (served at ``/rws/api/openapi.json``): the paths of the public
community spec (titobrasolin/jasper-client-python ``openapi.yaml``) carriersim serves, with the bodies it answers."""

from __future__ import annotations

from typing import Any

S = dict[str, Any]
STR: S = {"type": "string", "nullable": True}
STATUS: S = {"type": "string", "enum": ["TEST_READY", "INVENTORY", "ACTIVATION_READY", "ACTIVATED", "DEACTIVATED",
                                        "RETIRED", "PURGED", "REPLACED"]}
ERROR: S = {"type": "object", "required": ["errorMessage", "errorCode"],
            "properties": {"errorMessage": {"type": "string"}, "errorCode": {"type": "string"}}}
DEVICE: S = {"type": "object", "required": ["iccid", "status", "ratePlan", "dateAdded", "dateUpdated"],
             "properties": {"iccid": {"type": "string"}, "imsi": STR, "msisdn": STR, "imei": STR, "status": STATUS,
                            "ratePlan": STR, "communicationPlan": STR, "dateActivated": STR,
                            "dateAdded": {"type": "string"}, "dateUpdated": {"type": "string"}, "accountId": STR}}
SUMMARY: S = {"type": "object", "required": ["iccid", "status"], "properties": {
    "iccid": {"type": "string"}, "status": STATUS, "ratePlan": STR, "communicationPlan": STR}}
SEARCH: S = {"type": "object", "required": ["pageNumber", "devices", "lastPage"], "properties": {
    "pageNumber": {"type": "integer"}, "devices": {"type": "array", "items": SUMMARY},
    "lastPage": {"type": "boolean"}}}
USAGE: S = {"type": "object", "required": ["iccid", "ctdDataUsage"], "properties": {
    "iccid": {"type": "string"}, "status": STATUS, "ctdDataUsage": {"type": "integer"},
    "ctdSMSUsage": {"type": "integer"}, "ctdVoiceUsage": {"type": "integer"},
    "overageLimitReached": {"type": "boolean"}}}
AUDIT: S = {"type": "object", "required": ["iccid", "deviceAuditTrails", "pageNumber", "lastPage"], "properties": {
    "iccid": {"type": "string"}, "pageNumber": {"type": "integer"}, "lastPage": {"type": "boolean"},
    "deviceAuditTrails": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "priorValue": STR, "value": STR, "effectiveDate": {"type": "string"}}}}}}
PLANS: S = {"type": "object", "required": ["ratePlans", "pageNumber", "lastPage"], "properties": {
    "ratePlans": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    "pageNumber": {"type": "integer"}, "lastPage": {"type": "boolean"}}}
EDIT: S = {"type": "object", "properties": {
    "status": STATUS, "ratePlan": {"type": "string"}, "effectiveDate": {"type": "string"},
    **{f"accountCustom{i}": {"type": "string"} for i in range(1, 11)}, "deviceID": {"type": "string"},
    "modemID": {"type": "string"}}}


def _answers(ok: dict[str, S | None], *errors: int) -> S:
    out: S = {}
    for code, schema in ok.items():
        out[code] = {"description": "answer"} if schema is None else \
            {"description": "answer", "content": {"application/json": {"schema": schema}}}
    for status in (401, 429, *errors):
        out[str(status)] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
    return out


def _q(name: str, schema: S | None = None, required: bool = False) -> S:
    return {"name": name, "in": "query", "required": required, "schema": schema or {"type": "string"}}


ICCID = {"name": "iccid", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
PAGING = [_q("pageSize", {"type": "integer", "minimum": 1, "maximum": 50}),
          _q("pageNumber", {"type": "integer", "minimum": 1})]
ACK: S = {"type": "object", "required": ["iccid"], "properties": {"iccid": {"type": "string"}}}


def document() -> S:
    return {
        "openapi": "3.0.3",
        "info": {"title": "carriersim — Cisco IoT Control Center REST dialect", "version": "1.0.0",
                 "description": "The Control Center REST v1 subset carriersim serves (README, Carrier dialects)."},
        "servers": [{"url": "/rws/api"}],
        "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        "security": [{"basicAuth": []}],
        "paths": {
            "/v1/devices": {"get": {"operationId": "searchDevices", "parameters": [
                _q("modifiedSince", required=True), _q("modifiedTill"), _q("status", STATUS), *PAGING],
                "responses": _answers({"200": SEARCH}, 400)}},
            "/v1/devices/{iccid}": {
                "get": {"operationId": "getDeviceByIccid", "parameters": [ICCID],
                        "responses": _answers({"200": DEVICE}, 400, 404)},
                "put": {"operationId": "editDevice", "parameters": [ICCID], "requestBody": {
                    "required": True, "content": {"application/json": {"schema": EDIT}}},
                    "responses": _answers({"200": ACK, "202": ACK}, 400, 404)}},
            "/v1/devices/{iccid}/ctdUsages": {"get": {"operationId": "getUsagesByIccid", "parameters": [ICCID],
                                                      "responses": _answers({"200": USAGE}, 400, 404)}},
            "/v1/devices/{iccid}/auditTrails": {"get": {"operationId": "getDeviceAuditTrails", "parameters": [
                ICCID, _q("daysOfHistory", {"type": "integer", "minimum": 1, "maximum": 365}), *PAGING],
                "responses": _answers({"200": AUDIT}, 400, 404)}},
            "/v1/rateplans": {"get": {"operationId": "getRatePlans", "parameters": PAGING,
                                      "responses": _answers({"200": PLANS}, 400)}},
        },
    }
