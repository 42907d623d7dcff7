"""The dashboard in a real browser: log in by the URL fragment or the form, advance the clock with the controls
and watch a card's timeline gain its retained and cancelled bands, see live events arrive, open a card from the
search, read the API reference — all served from the package (no request leaves the server)."""

from __future__ import annotations

import json
import re

from .conftest import call, open_card


def _no_foreign_requests(page, server):
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.url) else foreign.append(r.url))
    return foreign


def test_advance_three_months_with_the_controls_and_see_retained_then_cancelled(page, server):
    foreign = _no_foreign_requests(page, server)
    _, iccid = open_card(server)
    page.goto(f"{server.url}/#token={server.admin_token}")
    page.wait_for_selector("#app:not([hidden])")
    assert "token" not in page.url  # the fragment is dropped once read
    page.fill("#search", iccid[-8:])
    page.click("#search-btn")
    page.click(f"#results tr[data-iccid='{iccid}']")  # open a card from the search
    page.wait_for_selector("#card:not([hidden]) .band[data-state=active]")
    page.fill("#advance-by", "1 month")
    page.click("#advance-btn")
    page.wait_for_selector(".band[data-state=retained]")
    assert page.locator(".band[data-state=cancelled]").count() == 0
    page.fill("#advance-by", "3 months")
    page.click("#advance-btn")
    page.wait_for_selector(".band[data-state=cancelled]")
    states = page.eval_on_selector_all("#timeline .band", "els => els.map(e => e.dataset.state)")
    assert states[-2:] == ["retained", "cancelled"]
    assert "2027-05-01" in page.text_content("#clock")
    assert page.text_content("#ledger") and "retention_fee" in page.text_content("#ledger")
    page.wait_for_selector("#events li[data-kind=state_changed]")  # the changes arrived on the live stream
    assert foreign == []


def test_live_events_arrive_while_the_clock_moves_in_accelerated_mode(page, server):
    _, iccid = open_card(server)
    page.goto(f"{server.url}/#token={server.admin_token}")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#events li")
    before = page.locator("#events li").count()
    page.select_option("#mode", "accelerated")
    page.fill("#rate", str(86400 * 20))  # twenty simulated days a second
    page.click("#mode-btn")
    page.wait_for_selector("#events li[data-kind=state_changed]:has-text('retained')", timeout=20000)
    assert page.locator("#events li").count() > before
    page.wait_for_selector("#clock:has-text('accelerated')")
    call(server, "POST", "/_sim/clock/mode", {"mode": "frozen"})


def test_login_form_refuses_a_wrong_token_and_opens_with_the_right_one(page, server):
    page.goto(server.url + "/")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#token", "wrong")
    page.click("#login-btn")
    page.wait_for_selector("#login-error:has-text('not the admin token')")
    page.fill("#token", server.admin_token)
    page.click("#login-btn")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#world option:has-text('default')", state="attached")


def test_filters_and_a_conformance_report_opened_from_the_page(page, server, tmp_path):
    open_card(server)
    page.goto(f"{server.url}/#token={server.admin_token}")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#results tbody tr")
    page.select_option("#f-state", "retained")
    page.click("#search-btn")
    page.wait_for_selector("#results-total:has-text('0 card')")
    report = tmp_path / "conformance.json"
    report.write_text(json.dumps({"suite": {"name": "core", "version": "1.0.0"}, "target": "inprocess",
                                  "outcomes": [{"scenario": "Quota stop", "carrier": "cmcc", "rules": ["QUOTA-1"],
                                                "status": "passed"}]}))
    page.set_input_files("#report-file", str(report))
    page.wait_for_selector("#report td.pass")


def test_the_api_reference_renders_openapi_json_offline(page, server):
    foreign = _no_foreign_requests(page, server)
    page.goto(server.url + "/api")
    page.wait_for_selector("#getCardLife")
    assert re.search(r"OpenAPI 3\.1", page.text_content("#version"))
    assert page.locator("details.op").count() > 60
    assert foreign == []


def test_advance_to_a_named_point_of_the_open_card(page, server):
    _, iccid = open_card(server)
    page.goto(f"{server.url}/#token={server.admin_token}")
    page.wait_for_selector("#app:not([hidden])")
    page.fill("#search", iccid)
    page.click("#search-btn")
    page.click(f"#results tr[data-iccid='{iccid}']")
    page.wait_for_selector("#advance-point option:has-text('expiry')", state="attached")
    page.select_option("#advance-point", label="expiry (2027-02-01T00:00:00+08:00)")
    page.click("#point-btn")
    page.wait_for_selector(".band[data-state=retained]")
    page.wait_for_selector("#advance-point option:has-text('retention_limit')", state="attached")
    page.select_option("#advance-point", label="retention_limit (2027-05-01T00:00:00+08:00)")
    page.click("#point-btn")
    page.wait_for_selector(".band[data-state=cancelled]")
    assert "2027-05-01" in page.text_content("#clock")
