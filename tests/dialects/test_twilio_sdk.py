"""The Twilio dialect driven by the official ``twilio`` SDK, unchanged: pointed at carriersim by its base URL only
(``client.supersim.base_url``), with test control (the clock, the network's usage, SIM stock) over ``/_sim``."""

from __future__ import annotations

import http.server
import threading
import time
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from carriersim.scenarios.live_server import LiveServer


class Dialect:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {server.admin_token}"

    def admin(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        r = self.http.request(method, self.server.url + path, json=json)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    def account(self, name: str = "Acme") -> tuple[str, Client]:
        answer = self.admin("POST", "/_sim/accounts", {"name": name, "verified": True}, 201)
        creds = answer["dialects"]["twilio"]
        client = Client(creds["account_sid"], creds["auth_token"])
        client.supersim.base_url = self.server.url + "/twilio"
        return answer["account"]["id"], client

    def stock(self, count: int) -> list[dict[str, str]]:
        return self.admin("POST", "/_sim/dialects/twilio/stock", {"count": count}, 201)["sims"]

    def advance(self, **body: Any) -> None:
        self.admin("POST", "/_sim/clock/advance", body)

    def usage(self, iccid: str, **body: Any) -> dict[str, Any]:
        return self.admin("POST", f"/_sim/cards/{iccid}/usage", body)


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dialect]:
    for var in ("TWILIO_REGION", "TWILIO_EDGE"):  # they would mangle 127.0.0.1 (DIALECTS.md §1)
        monkeypatch.delenv(var, raising=False)
    with LiveServer(dialects=("twilio",)) as server:
        d = Dialect(server)
        d.admin("POST", "/_sim/reset", {"seed": 1, "start": "2027-01-05T10:00:00Z"})
        yield d


def register(client: Client, stock: dict[str, str]) -> Any:
    return client.supersim.v1.sims.create(iccid=stock["iccid"], registration_code=stock["registration_code"])


def test_register_fetch_by_sid_and_unique_name(twilio: Dialect) -> None:
    _, client = twilio.account()
    [card] = twilio.stock(1)
    sim = register(client, card)
    assert sim.status == "new" and sim.iccid == card["iccid"] and sim.sid.startswith("HS")
    assert sim.date_created == datetime(2027, 1, 5, 10, tzinfo=timezone.utc)
    assert client.supersim.v1.sims(sim.sid).fetch().iccid == card["iccid"]
    named = client.supersim.v1.sims(sim.sid).update(unique_name="tracker-1")
    assert named.unique_name == "tracker-1" and named.status == "new"  # a label only: 200, nothing scheduled
    assert client.supersim.v1.sims("tracker-1").fetch().sid == sim.sid
    with pytest.raises(TwilioRestException) as again:  # 83003: already in your account
        register(client, card)
    assert again.value.code == 83003 and again.value.status == 409
    [other] = twilio.stock(1)
    with pytest.raises(TwilioRestException) as wrong:
        client.supersim.v1.sims.create(iccid=other["iccid"], registration_code="WRONG")
    assert wrong.value.code == 83002


def test_list_across_pages_and_filter_by_status(twilio: Dialect) -> None:
    _, client = twilio.account()
    sims = [register(client, s) for s in twilio.stock(7)]
    for sim in sims[:2]:
        client.supersim.v1.sims(sim.sid).update(status="active")
    page = client.supersim.v1.sims.page(page_size=3)
    assert len(list(page)) == 3 and page.next_page_url.startswith(twilio.server.url + "/twilio/v1/Sims?")
    listed = client.supersim.v1.sims.list(page_size=3)  # follows next_page_url verbatim: 3 pages
    assert sorted(s.sid for s in listed) == sorted(s.sid for s in sims)
    pages, p = 1, page
    while (p := p.next_page()) is not None:
        pages += 1
    assert pages == 3
    assert {s.sid for s in client.supersim.v1.sims.list(status="scheduled")} == {s.sid for s in sims[:2]}
    twilio.advance(by="1 minute")
    assert {s.sid for s in client.supersim.v1.sims.list(status="active")} == {s.sid for s in sims[:2]}
    assert len(client.supersim.v1.sims.list(status="new", page_size=2)) == 5
    assert [s.iccid for s in client.supersim.v1.sims.list(iccid=sims[3].iccid)] == [sims[3].iccid]


class Receiver:
    """A local callback receiver: records each request's method and form fields."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                outer.got.append(("POST", {k: v[0] for k, v in parse_qs(body).items()}))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sim-updated"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)


def test_status_update_is_scheduled_then_completes_on_the_clock_with_its_callback(twilio: Dialect) -> None:
    _, client = twilio.account()
    sim = register(client, twilio.stock(1)[0])
    receiver = Receiver()
    try:
        updated = client.supersim.v1.sims(sim.sid).update(status="active", callback_url=receiver.url)
        assert client.http_client._test_only_last_response.status_code == 202 and updated.status == "scheduled"
        assert client.supersim.v1.sims(sim.sid).fetch().status == "scheduled"
        time.sleep(0.2)
        assert receiver.got == []  # not before the update has completed
        twilio.advance(by="1 minute")
        assert client.supersim.v1.sims(sim.sid).fetch().status == "active"
        receiver.wait(1)
        assert len(receiver.got) == 1
        method, form = receiver.got[0]
        assert method == "POST" and form["sid"] == sim.sid and form["status"] == "active"
        # suspend (manual) and resume through Status, each 202 then done
        assert client.supersim.v1.sims(sim.sid).update(status="inactive").status == "scheduled"
        twilio.advance(by="1 minute")
        assert client.supersim.v1.sims(sim.sid).fetch().status == "inactive"
        client.supersim.v1.sims(sim.sid).update(status="active")
        twilio.advance(by="1 minute")
        assert client.supersim.v1.sims(sim.sid).fetch().status == "active"
    finally:
        receiver.httpd.shutdown()


def test_a_write_the_rules_refuse_answers_twilios_error_and_changes_nothing(twilio: Dialect) -> None:
    _, client = twilio.account()
    sim = register(client, twilio.stock(1)[0])
    with pytest.raises(TwilioRestException) as refused:  # MAN-1: a card never activated cannot be stopped
        client.supersim.v1.sims(sim.sid).update(status="inactive")
    assert refused.value.code == 83010 and refused.value.status == 409
    assert client.supersim.v1.sims(sim.sid).fetch().status == "new"
    with pytest.raises(TwilioRestException) as no_fleet:
        client.supersim.v1.sims(sim.sid).update(fleet="HF" + "0" * 32)
    assert no_fleet.value.code == 83006


def test_change_fleet_takes_effect_at_the_next_billing_period(twilio: Dialect) -> None:
    _, client = twilio.account()
    fleets = {f.unique_name: f for f in client.supersim.v1.fleets.list()}
    assert fleets["IoT-Fleet-250MB"].data_limit == 250 and fleets["IoT-Fleet-1GB"].data_limit == 1024
    assert client.supersim.v1.fleets("IoT-Fleet-1GB").fetch().sid == fleets["IoT-Fleet-1GB"].sid
    sim = register(client, twilio.stock(1)[0])
    assert sim.fleet_sid == fleets["IoT-Fleet-250MB"].sid  # registered into the default Fleet
    client.supersim.v1.sims(sim.sid).update(status="active")
    moved = client.supersim.v1.sims(sim.sid).update(fleet=fleets["IoT-Fleet-1GB"].sid)
    assert moved.fleet_sid == fleets["IoT-Fleet-250MB"].sid  # PLAN-1: not in the current period
    twilio.advance(to="2027-02-01T00:00:01Z")
    assert client.supersim.v1.sims(sim.sid).fetch().fleet_sid == fleets["IoT-Fleet-1GB"].sid
    assert [s.sid for s in client.supersim.v1.sims.list(fleet="IoT-Fleet-1GB")] == [sim.sid]
    periods = client.supersim.v1.sims(sim.sid).billing_periods.list()
    assert [p.period_type for p in periods] == ["active", "active"]
    assert periods[1].start_time == datetime(2027, 2, 1, tzinfo=timezone.utc)


def test_usage_records_by_day_in_simulated_time(twilio: Dialect) -> None:
    _, client = twilio.account()
    sim = register(client, twilio.stock(1)[0])
    client.supersim.v1.sims(sim.sid).update(status="active")
    twilio.usage(sim.iccid, kb=1000)
    twilio.advance(to="2027-01-06T12:00:00Z")
    twilio.usage(sim.iccid, kb=500)
    twilio.usage(sim.iccid, kb=24)
    records = client.supersim.v1.usage_records.list(
        sim=sim.sid, granularity="day", start_time=datetime(2027, 1, 5, tzinfo=timezone.utc),
        end_time=datetime(2027, 1, 8, tzinfo=timezone.utc))
    assert [(r.period["start_time"], r.data_total) for r in records] == [
        ("2027-01-05T00:00:00Z", 1000 * 1024), ("2027-01-06T00:00:00Z", 524 * 1024), ("2027-01-07T00:00:00Z", 0)]
    [total] = client.supersim.v1.usage_records.list(sim="HS" + sim.sid[2:])  # default: all, the last month
    assert total.data_total == 1524 * 1024 and total.sim_sid == sim.sid


def test_a_missing_sim_raises_twilio_rest_exception_20404_and_bad_credentials_20003(twilio: Dialect) -> None:
    _, client = twilio.account()
    with pytest.raises(TwilioRestException) as missing:
        client.supersim.v1.sims("HS" + "f" * 32).fetch()
    assert missing.value.code == 20404 and missing.value.status == 404
    _, other = twilio.account("Other")
    sim = register(other, twilio.stock(1)[0])
    with pytest.raises(TwilioRestException) as hidden:  # PLAN-3: another account's SIM does not exist
        client.supersim.v1.sims(sim.sid).fetch()
    assert hidden.value.code == 20404
    stranger = Client("AC" + "0" * 32, "nope")
    stranger.supersim.base_url = twilio.server.url + "/twilio"
    with pytest.raises(TwilioRestException) as denied:
        stranger.supersim.v1.sims("HS" + "f" * 32).fetch()
    assert denied.value.code == 20003 and denied.value.status == 401


def test_a_sim_at_its_data_limit_reads_inactive_until_the_next_period(twilio: Dialect) -> None:
    _, client = twilio.account()
    sim = register(client, twilio.stock(1)[0])
    client.supersim.v1.sims(sim.sid).update(status="active")
    twilio.advance(by="1 hour")
    result = twilio.usage(sim.iccid, mb=260)  # the Fleet's data_limit is 250 MB
    assert result["refused_because"] == "quota"
    assert client.supersim.v1.sims(sim.sid).fetch().status == "inactive"
    with pytest.raises(TwilioRestException) as refused:  # the quota stop is not the platform's to lift
        client.supersim.v1.sims(sim.sid).update(status="active")
    assert refused.value.code == 83010
    twilio.advance(to="2027-02-01T00:00:00Z")
    assert client.supersim.v1.sims(sim.sid).fetch().status == "active"
