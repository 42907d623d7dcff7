"""``carriersim serve --dialect twilio --dialect jasper``: both dialects beside the native API, as a user runs it."""

from __future__ import annotations

import base64

import requests

from carriersim.scenarios.live_server import ServeProcess


def test_serve_mounts_the_dialects_asked_for_with_their_profiles_and_rate_limit() -> None:
    with ServeProcess("--dialect", "twilio", "--dialect", "jasper", "--jasper-tps", "1") as server:
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        answer = requests.post(server.url + "/_sim/accounts", json={"name": "Acme", "verified": True},
                               headers=admin).json()
        assert set(answer["dialects"]) == {"twilio", "jasper"}
        tw, cc = answer["dialects"]["twilio"], answer["dialects"]["jasper"]
        sims = requests.get(server.url + "/twilio/v1/Sims", auth=(tw["account_sid"], tw["auth_token"]))
        assert sims.status_code == 200 and sims.json()["sims"] == []
        fleets = requests.get(server.url + "/twilio/v1/Fleets", auth=(tw["account_sid"], tw["auth_token"])).json()
        assert "IoT-Fleet-250MB" in [f["unique_name"] for f in fleets["fleets"]]
        basic = {"Authorization": "Basic " + base64.b64encode(f"{cc['username']}:{cc['api_key']}".encode()).decode()}
        first, second = (requests.get(server.url + "/rws/api/v1/rateplans", headers=basic) for _ in range(2))
        assert first.status_code == 200 and "CUCC-M50" in [p["name"] for p in first.json()["ratePlans"]]
        assert second.status_code == 429 and second.json()["errorCode"] == "40000029"  # 1 a second, burst 1
