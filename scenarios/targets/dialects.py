"""Conformance targets that speak a carrier dialect: ``twilio+http://HOST:PORT`` and ``jasper+http://HOST:PORT``.

A server mounting the dialect (``carriersim serve --dialect twilio=cmcc,cucc,ctcc``) is judged through it: the
platform operations the dialect has (activate, manual stop and resume, plan change) and the card observations it
can express (status, plan/Fleet/rate plan, cycle usage for Control Center) go through the dialect; world control
goes through ``/_sim``, as for any server. What the dialect cannot express is reached as its README section says a
platform would: operations it has no call for (opening a card with a payment, top-ups, add-ons, renewals …) and the
card facts it has no field for (reasons, balance, terms …) through the native ``/v1``. Each observed card is the
native card with the dialect's own fields laid over it, mapped back (a dialect status that cannot stand for the
native state — a real divergence — shows as the dialect's word, so the scenario fails). A refusal by the rules is
reported with the engine's code from the ``Carriersim-Code`` header (the body keeps the dialect's shape); one
without it, with the dialect's own code.

Capabilities are what the dialect really has: features it has no API for at all are left out, so their scenarios
are *not applicable*, never failed.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import quote, urlencode

from ..target import Refused, TargetError
from .http import HttpTarget, given

#: Twilio status → the native states it can stand for (inverse of the dialect's mapping)
TWILIO_STATES = {"new": {"ready"}, "ready": {"testing"}, "active": {"active"},
                 "inactive": {"suspended", "retained", "pending_cancel", "cancelled"}}
JASPER_STATES = {"INVENTORY": {"inventory"}, "TEST_READY": {"testing"}, "ACTIVATION_READY": {"ready"},
                 "ACTIVATED": {"active"}, "DEACTIVATED": {"suspended", "retained"}, "RETIRED": {"pending_cancel"},
                 "PURGED": {"cancelled"}, "REPLACED": {"cancelled"}}
# Features no API of the dialect drives: their scenarios are not applicable. (Observations it has no field for —
# the history's events, the ledger's money — are read through /v1, as a platform using the dialect would.)
COMMON_LACKS = {"pools", "batch", "real_name", "device_binding", "regions", "lost_swap", "cancellation", "refunds",
                "messages"}


class DialectTarget(HttpTarget):
    dialect = ""
    mount = ""
    lacks: frozenset[str] = frozenset()

    def __init__(self, url: str, *, admin_token: str | None = None, timeout: float = 30.0) -> None:
        super().__init__(url, admin_token=admin_token, timeout=timeout)
        self.name = f"{self.dialect}+{self.url}"
        self.capabilities = HttpTarget.capabilities - self.lacks
        self._auth: dict[str, str] = {}
        self._served: list[str] | None = None
        self._dconn: http.client.HTTPConnection | None = None

    # ---------------------------------------------------------------- the dialect's wire
    def dialect_request(self, method: str, path: str, account: str, *, form: dict[str, str] | None = None,
                        body: Any = None) -> Any:
        headers = {"Accept": "application/json", "Authorization": self._auth[account]}
        data = None
        if form is not None:
            data, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        for attempt in (1, 2):
            if self._dconn is None:
                cls = http.client.HTTPSConnection if self._tls else http.client.HTTPConnection
                self._dconn = cls(self._host, self._port, timeout=self._timeout)
            try:
                self._dconn.request(method, self._prefix + self.mount + path, body=data, headers=headers)
                resp = self._dconn.getresponse()
                payload = resp.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self._dconn.close()
                self._dconn = None
                if attempt == 2:
                    raise TargetError(f"{method} {self.url}{self.mount}{path}: no answer ({exc}).") from None
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            raise TargetError(f"{method} {self.mount}{path} answered {resp.status}: {payload[:200]!r}") from None
        if resp.status == 401:
            raise TargetError(f"{self.url}{self.mount} refused the {self.dialect} credentials: {answer!r}")
        if resp.status >= 400:
            code = resp.getheader("Carriersim-Code") or str(self.error_code(answer))
            raise Refused(code, self.error_message(answer), resp.status)
        return answer

    def error_code(self, answer: Any) -> Any:
        raise NotImplementedError

    def error_message(self, answer: Any) -> str:
        raise NotImplementedError

    # ---------------------------------------------------------------- accounts and the carriers served
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str:
        answer = self._request("POST", "/_sim/accounts",
                               given(name=name, kind=kind, verified=verified, id_number=id_number))
        account = answer["account"]["id"]
        self._keys[account] = answer["api_key"]
        creds = (answer.get("dialects") or {}).get(self.dialect)
        if creds is None:
            raise TargetError(f"{self.url} does not serve the {self.dialect} dialect (carriersim serve --dialect "
                              f"{self.dialect}=cmcc,cucc,ctcc)")
        user, secret = self.user_secret(creds)
        self._auth[account] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        return account

    def user_secret(self, creds: dict[str, str]) -> tuple[str, str]:
        raise NotImplementedError

    def carriers(self) -> list[str]:
        if self._served is None:
            document = self._request("GET", self.mount + "/openapi.json")
            served = document.get("info", {}).get("x-carriersim-carriers", [])
            self._served = [c for c in super().carriers() if c in served]
        return list(self._served)

    # ---------------------------------------------------------------- operations and observations
    def native_call(self, operation: str, account: str, args: dict[str, Any]) -> Any:
        return super().call(operation, account, args)

    def card(self, account: str, iccid: str) -> dict[str, Any]:
        native = super().card(account, iccid)
        return self.overlay(account, iccid, native)

    def overlay(self, account: str, iccid: str, native: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        super().close()
        if self._dconn is not None:
            self._dconn.close()
            self._dconn = None


class TwilioTarget(DialectTarget):
    """Twilio Super SIM: Status (activate, manual stop and resume) and Fleet (plan change) through the dialect;
    observed: status and Fleet."""

    dialect, mount = "twilio", "/twilio"
    lacks = frozenset(COMMON_LACKS)

    def __init__(self, url: str, **kw: Any) -> None:
        super().__init__(url, **kw)
        self._sids: dict[str, str] = {}
        self._fleets: dict[str, str] = {}

    def user_secret(self, creds: dict[str, str]) -> tuple[str, str]:
        return creds["account_sid"], creds["auth_token"]

    def error_code(self, answer: Any) -> Any:
        return answer.get("code") if isinstance(answer, dict) else "unknown"

    def error_message(self, answer: Any) -> str:
        return str(answer.get("message", "")) if isinstance(answer, dict) else ""

    def sid(self, account: str, iccid: str) -> str:
        if iccid not in self._sids:
            found = self.dialect_request("GET", "/v1/Sims?" + urlencode({"Iccid": iccid}), account)["sims"]
            if not found:
                raise Refused("card_not_found", f"No SIM with ICCID {iccid}", 404)
            self._sids[iccid] = found[0]["sid"]
        return self._sids[iccid]

    def call(self, operation: str, account: str, args: dict[str, Any]) -> Any:
        iccid = args.get("iccid")
        form: dict[str, str] | None = None
        if operation in ("activate", "resume") and not args.get("imei"):
            form = {"Status": "active"}
        elif operation == "suspend":
            form = {"Status": "inactive"}
        elif operation == "change_plan":
            form = {"Fleet": str(args["plan"])}
        if form is None or not isinstance(iccid, str):
            return self.native_call(operation, account, args)
        self.dialect_request("POST", f"/v1/Sims/{self.sid(account, iccid)}", account, form=form)
        return super().card(account, iccid)  # the native shape the runner reads (pending_change …)

    def overlay(self, account: str, iccid: str, native: dict[str, Any]) -> dict[str, Any]:
        sim = self.dialect_request("GET", f"/v1/Sims/{self.sid(account, iccid)}", account)
        out = dict(native)
        status = sim["status"]
        if status != "scheduled" and native.get("state") not in TWILIO_STATES.get(status, set()):
            out["state"] = f"twilio:{status}"
        if sim.get("fleet_sid"):
            if sim["fleet_sid"] not in self._fleets:
                for fleet in self.dialect_request("GET", "/v1/Fleets?PageSize=1000", account)["fleets"]:
                    self._fleets[fleet["sid"]] = fleet["unique_name"]
            out["plan"] = self._fleets.get(sim["fleet_sid"], sim["fleet_sid"])
        return out

    def reset(self, *, start: str, seed: int) -> None:
        super().reset(start=start, seed=seed)
        self._sids.clear()


class JasperTarget(DialectTarget):
    """Control Center: status (activate, manual stop and resume) and ratePlan (plan change) through PUT
    /devices/{iccid}; observed: status and rate plan (its audit trail has the status changes, not the native
    history's events: those are read through /v1)."""

    dialect, mount = "jasper", "/rws/api"
    lacks = frozenset(COMMON_LACKS)

    def user_secret(self, creds: dict[str, str]) -> tuple[str, str]:
        return creds["username"], creds["api_key"]

    def error_code(self, answer: Any) -> Any:
        return answer.get("errorCode") if isinstance(answer, dict) else "unknown"

    def error_message(self, answer: Any) -> str:
        return str(answer.get("errorMessage", "")) if isinstance(answer, dict) else ""

    def call(self, operation: str, account: str, args: dict[str, Any]) -> Any:
        iccid = args.get("iccid")
        body: dict[str, Any] | None = None
        if operation in ("activate", "resume") and not args.get("imei"):
            body = {"status": "ACTIVATED"}
        elif operation == "suspend":
            body = {"status": "DEACTIVATED"}
        elif operation == "change_plan":
            body = {"ratePlan": str(args["plan"])}
        if body is None or not isinstance(iccid, str):
            return self.native_call(operation, account, args)
        self.dialect_request("PUT", f"/v1/devices/{quote(iccid, safe='')}", account, body=body)
        return super().card(account, iccid)

    def overlay(self, account: str, iccid: str, native: dict[str, Any]) -> dict[str, Any]:
        device = self.dialect_request("GET", f"/v1/devices/{quote(iccid, safe='')}", account)
        out = dict(native)
        if native.get("state") not in JASPER_STATES.get(device["status"], set()):
            out["state"] = f"jasper:{device['status']}"
        out["plan"] = device["ratePlan"]
        return out
