"""Schemathesis against each dialect's own OpenAPI document, served beside it: every operation, positive and
negative data, each response checked (no 5xx, a documented status, content type and the documented body)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from carriersim.scenarios.live_server import LiveServer
from carriersim.simulator.http.dialects import jasper_spec, twilio_spec

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
CONFIG = {"seed": 1, "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
          "generation": {"with-security-parameters": False}}
twilio_schema = schemathesis.openapi.from_dict(twilio_spec.document(), config=schemathesis.Config.from_dict(CONFIG))
jasper_schema = schemathesis.openapi.from_dict(jasper_spec.document(), config=schemathesis.Config.from_dict(CONFIG))
KNOWN: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def live() -> Iterator[dict[str, Any]]:
    with LiveServer(dialects=("twilio", "jasper")) as server:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {server.admin_token}"
        made = s.post(server.url + "/_sim/accounts", json={"name": "Acme", "verified": True}).json()
        tw, cc = made["dialects"]["twilio"], made["dialects"]["jasper"]
        native = {"Authorization": f"Bearer {made['api_key']}"}
        stock = s.post(server.url + "/_sim/dialects/twilio/stock", json={"count": 3}).json()["sims"]
        sids = []
        for item in stock:
            r = requests.post(server.url + "/twilio/v1/Sims", auth=(tw["account_sid"], tw["auth_token"]),
                              data={"Iccid": item["iccid"], "RegistrationCode": item["registration_code"]})
            sids.append(r.json()["sid"])
        iccids = [requests.post(server.url + "/v1/cards", json={"carrier": "cucc", "plan": "CUCC-M50"},
                                headers=native).json()["iccid"] for _ in range(3)]
        KNOWN.update(sid=sids + ["IoT-Fleet-250MB"], iccid=iccids)
        assert requests.get(server.url + "/twilio/openapi.json").json()["paths"] == twilio_spec.document()["paths"]
        assert requests.get(server.url + "/rws/api/openapi.json").json()["paths"] == jasper_spec.document()["paths"]
        yield {"url": server.url, "twilio": (tw["account_sid"], tw["auth_token"]), "jasper": (cc["username"],
                                                                                            cc["api_key"])}


def _known(context: Any, params: Any) -> Any:
    if not isinstance(params, dict):
        return st.just(params)
    options = [{**params, name: value} for name in params for value in KNOWN.get(name, ())]
    return st.one_of(st.just(params), st.sampled_from(options)) if options else st.just(params)


twilio_schema.hook("flatmap_path_parameters")(_known)
jasper_schema.hook("flatmap_path_parameters")(_known)


@twilio_schema.parametrize()
@settings(max_examples=15, **SETTINGS)
def test_twilio_dialect_answers_its_document(case: Any, live: dict[str, Any]) -> None:
    case.call_and_validate(base_url=live["url"] + "/twilio", auth=live["twilio"])


@jasper_schema.parametrize()
@settings(max_examples=15, **SETTINGS)
def test_jasper_dialect_answers_its_document(case: Any, live: dict[str, Any]) -> None:
    case.call_and_validate(base_url=live["url"] + "/rws/api", auth=live["jasper"])
