"""The native API (``/v1``) driven over HTTP, operation by operation.

Each test talks to a real aiohttp server (pytest-aiohttp) and asserts what the platform sees: status codes, response
bodies, and the card as it stands afterwards. Rules exercised through the API: LIFE-1/4 (open, activate, history),
BILL-1/5 (payment, top-up, arrears, reactivate), PLAN-1/2 (plan change from the next cycle, withdrawal), QUOTA-1/3
(usage, add-on), EXP-2/QUOTA-4 (renewal), MAN-1 (suspend/resume), KYC-1 (identity), BIND-1 (rebind/unbind),
REG-1 (region appeal), LOST-1/SWAP-1 (loss report, swap), CAN-1/2/4 (cancellation, certificate, balance refund),
REF-1 (refunds), POOL-1 (pools), BATCH-1 (batch jobs from CSV and .xlsx), the events feed and card list paging.
"""

from __future__ import annotations

import random

import pytest
from aiohttp import FormData
from conftest import xlsx_from_template

from carriersim.simulator.http.app import STATE
from carriersim.simulator.identifiers import make_credit_code, make_iccid, make_resident_id

from .apihelp import (account, advance, batch_form, card, csv_upload, digest, imei, ok, open_active, open_card, refused,
                      usage)

# ------------------------------------------------------------------------------------------- account, catalogue


async def test_account_and_catalogue(client):
    acme = await account(client, name="杭州测试科技有限公司", kind="enterprise")
    me = await ok(await client.get("/v1/account", headers=acme["H"]))
    assert me == {"id": acme["id"], "name": "杭州测试科技有限公司", "kind": "enterprise", "channel": "direct",
                  "verified": True, "balance": "0.00", "cards": 0}
    carriers = await ok(await client.get("/v1/carriers", headers=acme["H"]))
    by_id = {c["id"]: c for c in carriers["items"]}
    assert set(by_id) == {"cmcc", "cucc", "ctcc"}
    assert by_id["cmcc"]["restricted_regions"] == ["CN-FJ", "CN-GX", "CN-XJ", "CN-XZ"]
    assert by_id["ctcc"]["arrears_auto_resume"] is False
    assert by_id["cucc"]["real_name_grace_days"] == 15
    assert by_id["cmcc"]["maintenance_until"] is None
    plans = await ok(await client.get("/v1/carriers/cmcc/plans", headers=acme["H"]))
    m100 = next(p for p in plans["items"] if p["code"] == "CMCC-M100")
    assert m100 == {"code": "CMCC-M100", "name": "100MB 月包", "carrier": "cmcc", "term": "monthly", "term_months": 1,
                    "quota_mb": 100, "quota_scope": "month", "price": "5.00", "overage_per_mb": "0.29"}
    addons = await ok(await client.get("/v1/carriers/cucc/addons", headers=acme["H"]))
    assert {"code": "CUCC-ADD200", "name": "200MB 流量包", "quota_mb": 200, "price": "6.00"} in addons["items"]
    await refused(await client.get("/v1/carriers/nope/plans", headers=acme["H"]), 404, "carrier_not_found")
    await refused(await client.get("/v1/carriers/nope/addons", headers=acme["H"]), 404, "carrier_not_found")


# ------------------------------------------------------------------------------------------------ cards


async def test_bill1_open_card_paid_then_charged(client):
    acme = await account(client)
    c = await open_card(client, acme["H"], payment="20")
    assert c["state"] == "ready" and c["reasons"] == []
    assert c["carrier"] == "cmcc" and c["plan"] == "CMCC-M100" and c["account"] == acme["id"]
    assert c["balance"] == "15.00"
    assert c["verified"] is True and c["auto_suspend"] is True and c["auto_renew"] is True
    assert c["opened_at"] == "2027-01-01T00:00:00+08:00" and c["activated_at"] is None
    assert c["usage"] == {"cycle_mb": 0.0, "quota_used_mb": 0.0, "addon_mb": 0.0, "quota_mb": 100.0}
    assert await card(client, acme["H"], c["iccid"]) == c
    # options are honoured; testing cards start in `testing`
    t = await open_card(client, acme["H"], "ctcc", "CTCC-M20", "2", auto_suspend=False, auto_renew=False,
                        testing=True)
    assert (t["state"], t["auto_suspend"], t["auto_renew"], t["balance"]) == ("testing", False, False, "0.00")
    assert "test_used_mb" in t["usage"]
    # numbers are accepted as money too
    n = await open_card(client, acme["H"], "cucc", "CUCC-M50", 4.5)
    assert n["balance"] == "0.50"


async def test_bill1_open_card_refusals_change_nothing(client):
    acme = await account(client)
    sim = client.app[STATE].sim
    before = sim.digest()
    body = await refused(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100",
                                                              "payment": "4.99"}, headers=acme["H"]),
                         402, "insufficient_balance")
    assert (body["price"], body["paid"]) == ("5.00", "4.99")
    await refused(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-NOPE"}, headers=acme["H"]),
                  404, "plan_not_found")
    await refused(await client.post("/v1/cards", json={"carrier": "xx", "plan": "CMCC-M100"}, headers=acme["H"]),
                  404, "carrier_not_found")
    stock = make_iccid("898600", 777_777)
    await refused(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100", "iccid": stock},
                                    headers=acme["H"]), 409, "card_not_in_stock")
    assert sim.digest() == before
    assert (await ok(await client.get("/v1/account", headers=acme["H"])))["cards"] == 0


async def test_life1_activation_binds_device_and_starts_term(client):
    acme = await account(client)
    iccid = (await open_card(client, acme["H"]))["iccid"]
    device = imei()
    c = await ok(await client.post(f"/v1/cards/{iccid}/activation", json={"imei": device}, headers=acme["H"]))
    assert c["state"] == "active" and c["imei"] == device
    assert c["activated_at"] == c["term_start"] == "2027-01-01T00:00:00+08:00"
    assert c["term_end"] == "2027-02-01T00:00:00+08:00"
    # activation without a device is allowed (BIND-1 binds at first usage)
    other = (await open_card(client, acme["H"]))["iccid"]
    c2 = await ok(await client.post(f"/v1/cards/{other}/activation", json={}, headers=acme["H"]))
    assert c2["state"] == "active" and c2["imei"] is None
    # a second activation is refused
    body = await refused(await client.post(f"/v1/cards/{iccid}/activation", json={}, headers=acme["H"]),
                         409, "invalid_state")
    assert body["state"] == "active"
    await refused(await client.post(f"/v1/cards/{other}/activation", json={"imei": "123"}, headers=acme["H"]),
                  422, "invalid_body")


async def test_plan1_get_card_shows_pending_change_and_effective_time(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="40")
    await advance(client, to="2027-01-31T23:59:59+08:00")
    c = await ok(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"}, headers=acme["H"]))
    assert c["plan"] == "CMCC-M100"
    assert c["pending_change"] == {"plan": "CMCC-M1G", "effective_at": "2027-02-01T00:00:00+08:00"}
    assert (await card(client, acme["H"], iccid))["pending_change"] == c["pending_change"]
    listed = await ok(await client.get("/v1/cards", headers=acme["H"]))
    assert listed["items"][0]["pending_change"] == c["pending_change"]
    # PLAN-2: a new request replaces the pending one
    c = await ok(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M30"}, headers=acme["H"]))
    assert c["pending_change"] == {"plan": "CMCC-M30", "effective_at": "2027-02-01T00:00:00+08:00"}
    await advance(client, by="1 second")
    c = await card(client, acme["H"], iccid)
    assert c["plan"] == "CMCC-M30" and c["pending_change"] is None
    assert c["term_start"] == "2027-02-01T00:00:00+08:00"
    assert c["balance"] == "32.00"  # 40 - 5 (M100) - 3 (M30 charged at the change)


async def test_plan1_plan_change_refusals(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="5")
    sim = client.app[STATE].sim
    before = sim.digest()
    body = await refused(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"},
                                           headers=acme["H"]), 402, "insufficient_balance")
    assert body["price"] == "15.00" and body["balance"] == "0.00"
    await refused(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M100"},
                                    headers=acme["H"]), 409, "plan_change_not_allowed")
    await refused(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CUCC-M50"},
                                    headers=acme["H"]), 404, "plan_not_found")
    await refused(await client.delete(f"/v1/cards/{iccid}/plan-change", headers=acme["H"]), 409, "no_pending_change")
    assert sim.digest() == before


async def test_plan2_withdraw_pending_change(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="40")
    await ok(await client.post(f"/v1/cards/{iccid}/plan-change", json={"plan": "CMCC-M1G"}, headers=acme["H"]))
    c = await ok(await client.delete(f"/v1/cards/{iccid}/plan-change", headers=acme["H"]))
    assert c["pending_change"] is None and c["plan"] == "CMCC-M100"
    await refused(await client.delete(f"/v1/cards/{iccid}/plan-change", headers=acme["H"]), 409, "no_pending_change")
    await advance(client, to="2027-02-01T00:00:00+08:00")
    c = await card(client, acme["H"], iccid)
    assert c["plan"] == "CMCC-M100" and c["balance"] == "30.00"  # renewed M100, no M1G charge


async def test_life4_history_lists_the_cards_events(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="20")
    await ok(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]))
    history = await ok(await client.get(f"/v1/cards/{iccid}/history", headers=acme["H"]))
    items = history["items"]
    kinds = [e["kind"] for e in items]
    assert kinds[:2] == ["card_opened", "state_changed"]
    assert "payment" in kinds and "charge" in kinds and "device_bound" in kinds
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["iccid"] == iccid and e["cause"] == "api" for e in items)
    changes = [(e["old_state"], e["new_state"], e["reasons"], e["change"]) for e in items
               if e["kind"] == "state_changed"]
    assert changes == [("inventory", "ready", [], "none"), ("ready", "active", [], "none"),
                       ("active", "suspended", ["manual"], "added")]
    charge = next(e for e in items if e["kind"] == "charge")
    assert charge["amount"] == "-5.00"


async def test_quota1_usage_reported_by_the_network(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"])
    u = await ok(await client.get(f"/v1/cards/{iccid}/usage", headers=acme["H"]))
    assert u == {"cycle_mb": 0.0, "quota_used_mb": 0.0, "addon_mb": 0.0, "quota_mb": 100.0}
    result = await usage(client, iccid, mb=40)
    assert result == {"iccid": iccid, "accepted_kb": 40 * 1024, "refused_kb": 0, "refused_because": None,
                      "state": "active", "reasons": []}
    u = await ok(await client.get(f"/v1/cards/{iccid}/usage", headers=acme["H"]))
    assert u == {"cycle_mb": 40.0, "quota_used_mb": 40.0, "addon_mb": 0.0, "quota_mb": 100.0}
    # QUOTA-1: the rest of the quota is accepted, the card stops for `quota`
    result = await usage(client, iccid, mb=70)
    assert result["accepted_kb"] == 60 * 1024 and result["refused_kb"] == 10 * 1024
    assert (result["state"], result["reasons"]) == ("suspended", ["quota"])
    u = await ok(await client.get(f"/v1/cards/{iccid}/usage", headers=acme["H"]))
    assert u["quota_used_mb"] == 100.0
    c = await card(client, acme["H"], iccid)
    assert c["usage"] == u and c["last_used_at"] == "2027-01-01T00:00:00+08:00"
    # a card with no usage yet and no plan usage still answers a usage document
    fresh = (await open_card(client, acme["H"]))["iccid"]
    assert (await ok(await client.get(f"/v1/cards/{fresh}/usage", headers=acme["H"])))["cycle_mb"] == 0.0


async def test_quota3_addon_lifts_quota_at_once(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="20")
    await usage(client, iccid, mb=100)
    assert (await card(client, acme["H"], iccid))["reasons"] == ["quota"]
    c = await ok(await client.post(f"/v1/cards/{iccid}/addons", json={"addon": "CMCC-ADD100"}, headers=acme["H"]))
    assert (c["state"], c["reasons"], c["balance"]) == ("active", [], "10.00")
    assert c["usage"]["addon_mb"] == 100.0 and c["usage"]["quota_mb"] == 200.0
    await refused(await client.post(f"/v1/cards/{iccid}/addons", json={"addon": "CUCC-ADD200"}, headers=acme["H"]),
                  404, "addon_not_found")
    before = digest(client)
    body = await refused(await client.post(f"/v1/cards/{iccid}/addons", json={"addon": "CMCC-ADD1G"},
                                           headers=acme["H"]), 402, "insufficient_balance")
    assert body["price"] == "20.00" and body["balance"] == "10.00"
    assert digest(client) == before


async def test_ledger_shows_running_balance(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    await ok(await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "2.50"}, headers=acme["H"]), 201)
    await ok(await client.post(f"/v1/cards/{iccid}/addons", json={"addon": "CMCC-ADD100"}, headers=acme["H"]))
    ledger = await ok(await client.get(f"/v1/cards/{iccid}/ledger", headers=acme["H"]))
    rows = [(e["kind"], e["item"], e["amount"], e["balance"]) for e in ledger["items"]]
    assert rows == [("payment", "payment", "10.00", "10.00"), ("charge", "CMCC-M100", "-5.00", "5.00"),
                    ("payment", "top_up", "2.50", "7.50"), ("charge", "CMCC-ADD100", "-5.00", "2.50")]
    assert ledger["balance"] == "2.50" == (await card(client, acme["H"], iccid))["balance"]
    assert all(e["time"] == "2027-01-01T00:00:00+08:00" for e in ledger["items"])


async def test_bill5_top_up_answers_payment_and_card(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="5")
    r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": 12.34}, headers=acme["H"])
    data = await ok(r, 201)
    assert data["card"]["balance"] == "12.34"
    payment = data["payment"]
    ledger = await ok(await client.get(f"/v1/cards/{iccid}/ledger", headers=acme["H"]))
    assert [e for e in ledger["items"] if e["seq"] == payment][0]["amount"] == "12.34"
    before = digest(client)
    for amount in ("0", "0.00", "100000.01", "1.234", -1, 0):
        r = await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": amount}, headers=acme["H"])
        assert r.status == 422, (amount, await r.text())
        assert (await r.json())["code"] in ("invalid_input", "invalid_body")
    assert digest(client) == before


async def test_bill5_ctcc_arrears_need_reactivation(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], "ctcc", "CTCC-M20", "2", auto_suspend=False)
    result = await usage(client, iccid, mb=21)
    assert result["reasons"] == ["arrears"]
    c = await card(client, acme["H"], iccid)
    assert (c["state"], c["balance"]) == ("suspended", "-0.25")
    await refused(await client.post(f"/v1/cards/{iccid}/reactivation", headers=acme["H"]), 402,
                  "insufficient_balance")
    data = await ok(await client.post(f"/v1/cards/{iccid}/top-ups", json={"amount": "1"}, headers=acme["H"]), 201)
    assert (data["card"]["state"], data["card"]["reasons"], data["card"]["balance"]) == \
        ("suspended", ["arrears"], "0.75")  # ctcc: no automatic resume
    c = await ok(await client.post(f"/v1/cards/{iccid}/reactivation", headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("active", [])
    await refused(await client.post(f"/v1/cards/{iccid}/reactivation", headers=acme["H"]), 409, "not_in_arrears")


async def test_exp2_renewal_prepays_then_restores(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="10")
    data = await ok(await client.post(f"/v1/cards/{iccid}/renewal", headers=acme["H"]))
    assert data["result"] == "prepaid"
    assert (data["card"]["prepaid_terms"], data["card"]["balance"]) == (1, "0.00")
    # an expired card: no auto-renew, no prepaid term
    other = await open_active(client, acme["H"], payment="5", auto_renew=False)
    await advance(client, to="2027-02-01T00:00:00+08:00")
    c = await card(client, acme["H"], other)
    # RET-1: the retention fee is charged at once and drives the empty balance into arrears
    assert (c["state"], c["reasons"], c["balance"]) == ("retained", ["arrears", "expired"], "-5.00")
    assert c["retention_until"] == "2027-05-01T00:00:00+08:00"
    await refused(await client.post(f"/v1/cards/{other}/renewal", headers=acme["H"]), 402, "insufficient_balance")
    paid = await ok(await client.post(f"/v1/cards/{other}/top-ups", json={"amount": "10"}, headers=acme["H"]), 201)
    assert (paid["card"]["reasons"], paid["card"]["balance"]) == (["expired"], "5.00")
    data = await ok(await client.post(f"/v1/cards/{other}/renewal", headers=acme["H"]))
    assert data["result"] == "restored"
    assert (data["card"]["state"], data["card"]["reasons"], data["card"]["balance"]) == ("active", [], "0.00")
    # the prepaid card used its prepaid term at the cycle start
    c = await card(client, acme["H"], iccid)
    assert (c["state"], c["prepaid_terms"], c["term_end"]) == ("active", 0, "2027-03-01T00:00:00+08:00")


async def test_man1_suspend_resume_over_http(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"])
    c = await ok(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("suspended", ["manual"])
    await refused(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]), 409, "already_suspended")
    c = await ok(await client.post(f"/v1/cards/{iccid}/resumption", headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("active", [])
    await refused(await client.post(f"/v1/cards/{iccid}/resumption", headers=acme["H"]), 409,
                  "not_manually_suspended")
    # MAN-1: not while stopped for quota; the refusal names the reasons
    await usage(client, iccid, mb=100)
    body = await refused(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]), 409,
                         "manual_suspend_not_allowed")
    assert body["reasons"] == ["quota"]


async def test_kyc1_identity_verification(client):
    person = await account(client, verified=False, kind="personal", name="张三")
    iccid = await open_active(client, person["H"], "cucc", "CUCC-M50", "4")
    c = await card(client, person["H"], iccid)
    assert c["verified"] is False and c["real_name_deadline"] == "2027-01-16T00:00:00+08:00"
    await refused(await client.post(f"/v1/cards/{iccid}/identity", json={"name": "张三", "id_number": "123"},
                                    headers=person["H"]), 422, "invalid_identity")
    await advance(client, to="2027-01-16T00:00:00+08:00")
    assert (await card(client, person["H"], iccid))["reasons"] == ["unverified"]
    resident = make_resident_id(random.Random(7))
    c = await ok(await client.post(f"/v1/cards/{iccid}/identity", json={"name": "张三", "id_number": resident},
                                   headers=person["H"]))
    assert (c["verified"], c["state"], c["reasons"], c["real_name_deadline"]) == (True, "active", [], None)
    await refused(await client.post(f"/v1/cards/{iccid}/identity", json={"name": "张三", "id_number": resident},
                                    headers=person["H"]), 409, "already_verified")


async def test_bind1_rebind_and_unbind_device(client):
    acme = await account(client)
    first, second = imei(), imei()
    iccid = await open_active(client, acme["H"], device=first)
    result = await usage(client, iccid, mb=1, imei=second)
    assert (result["accepted_kb"], result["reasons"]) == (0, ["device"])
    c = await ok(await client.post(f"/v1/cards/{iccid}/device", json={"imei": second}, headers=acme["H"]))
    assert (c["state"], c["reasons"], c["imei"], c["device_changes"]) == ("active", [], second, 1)
    assert (await usage(client, iccid, mb=1, imei=second))["accepted_kb"] == 1024
    await refused(await client.post(f"/v1/cards/{iccid}/device", json={"imei": "860000000010009"},
                                    headers=acme["H"]), 422, "invalid_imei")
    c = await ok(await client.delete(f"/v1/cards/{iccid}/device", headers=acme["H"]))
    assert c["imei"] is None


async def test_auto_renew_switch(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="5")
    c = await ok(await client.post(f"/v1/cards/{iccid}/auto-renew", json={"enabled": False}, headers=acme["H"]))
    assert c["auto_renew"] is False
    kinds = [e["kind"] for e in (await ok(await client.get(f"/v1/cards/{iccid}/history",
                                                           headers=acme["H"])))["items"]]
    assert kinds.count("auto_renew_set") == 1
    c = await ok(await client.post(f"/v1/cards/{iccid}/auto-renew", json={"enabled": True}, headers=acme["H"]))
    assert c["auto_renew"] is True
    await refused(await client.post(f"/v1/cards/{iccid}/auto-renew", json={"enabled": "no"}, headers=acme["H"]),
                  422, "invalid_body")


async def test_reg1_region_appeal(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"])
    result = await usage(client, iccid, mb=1, region="CN-XJ")
    assert (result["accepted_kb"], result["refused_because"], result["reasons"]) == (0, "region", ["region"])
    await usage(client, iccid, mb=1, region="CN-BJ")
    assert (await card(client, acme["H"], iccid))["reasons"] == ["region"]
    c = await ok(await client.post(f"/v1/cards/{iccid}/region-appeal", headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("active", [])
    assert (await usage(client, iccid, mb=1, region="CN-BJ"))["accepted_kb"] == 1024


async def test_lost1_loss_report_and_swap(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], payment="20")
    old = await card(client, acme["H"], iccid)
    c = await ok(await client.post(f"/v1/cards/{iccid}/loss-report", headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("suspended", ["lost"])
    await refused(await client.post(f"/v1/cards/{iccid}/resumption", headers=acme["H"]), 409,
                  "not_manually_suspended")
    new = await ok(await client.post(f"/v1/cards/{iccid}/swap", json={}, headers=acme["H"]), 201)
    assert new["iccid"] != iccid and new["replaces"] == iccid
    assert (new["state"], new["msisdn"], new["plan"], new["balance"]) == ("ready", old["msisdn"], "CMCC-M100",
                                                                          "15.00")
    gone = await card(client, acme["H"], iccid)
    assert (gone["state"], gone["replaced_by"], gone["balance"]) == ("cancelled", new["iccid"], "0.00")
    c = await ok(await client.post(f"/v1/cards/{new['iccid']}/activation", json={"imei": imei()}, headers=acme["H"]))
    assert (c["state"], c["reasons"]) == ("active", [])
    await refused(await client.post(f"/v1/cards/{iccid}/swap", json={}, headers=acme["H"]), 409, "card_cancelled")
    await refused(await client.post(f"/v1/cards/{new['iccid']}/swap", json={"new_iccid": make_iccid("898600", 5)},
                                    headers=acme["H"]), 409, "card_not_in_stock")


async def test_can1_to_can4_cancellation_certificate_and_balance_refund(client):
    doc = make_credit_code(random.Random(11))
    acme = await account(client, id_number=doc)
    iccid = await open_active(client, acme["H"], payment="20")
    body = await refused(await client.post(f"/v1/cards/{iccid}/cancellation", json={"document": doc},
                                           headers=acme["H"]), 409, "cancellation_not_allowed")
    assert body["reasons"] == ["device_bound", "auto_renew_on"]
    await refused(await client.get(f"/v1/cards/{iccid}/certificate", headers=acme["H"]), 404,
                  "certificate_not_found")
    await ok(await client.post(f"/v1/cards/{iccid}/auto-renew", json={"enabled": False}, headers=acme["H"]))
    await ok(await client.delete(f"/v1/cards/{iccid}/device", headers=acme["H"]))
    await refused(await client.post(f"/v1/cards/{iccid}/cancellation",
                                    json={"document": make_credit_code(random.Random(12))}, headers=acme["H"]),
                  422, "document_mismatch")
    r = await client.post(f"/v1/cards/{iccid}/cancellation", json={"document": doc}, headers=acme["H"])
    review = await ok(r, 202)
    # 2027-01-01 is a holiday Friday; three working days: Jan 4, 5, 6
    assert review == {"iccid": iccid, "review": "standard", "due": "2027-01-06T00:00:00+08:00"}
    c = await card(client, acme["H"], iccid)
    assert c["state"] == "pending_cancel"
    assert c["cancellation"] == {"status": "under_review", "review": "standard", "due": review["due"]}
    await refused(await client.post(f"/v1/cards/{iccid}/cancellation", json={"document": doc}, headers=acme["H"]),
                  409, "cancellation_pending")
    await refused(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "balance"}, headers=acme["H"]),
                  409, "invalid_state")
    await advance(client, to=review["due"])
    c = await card(client, acme["H"], iccid)
    assert c["state"] == "cancelled" and c["cancellation"]["status"] == "done"
    cert = await ok(await client.get(f"/v1/cards/{iccid}/certificate", headers=acme["H"]))
    assert cert["iccid"] == iccid and cert["msisdn"] == c["msisdn"] and cert["carrier"] == "cmcc"
    assert cert["cancelled_at"] == "2027-01-06T00:00:00+08:00"
    assert c["cancellation"]["certificate"] == cert["number"]
    refund = await ok(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "balance"},
                                        headers=acme["H"]), 201)
    assert refund["amount"] == "15.00" and refund["card"]["balance"] == "0.00"
    await refused(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "balance"}, headers=acme["H"]),
                  409, "nothing_to_refund")


async def test_can4_balance_refund_window_closes(client):
    doc = make_credit_code(random.Random(13))
    acme = await account(client, id_number=doc)
    iccid = await open_active(client, acme["H"], payment="20", auto_renew=False)
    await ok(await client.delete(f"/v1/cards/{iccid}/device", headers=acme["H"]))
    review = await ok(await client.post(f"/v1/cards/{iccid}/cancellation", json={"document": doc},
                                        headers=acme["H"]), 202)
    await advance(client, to=review["due"])
    await advance(client, by="7 days")
    await advance(client, by="1 second")
    await refused(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "balance"}, headers=acme["H"]),
                  409, "refund_window_closed")


async def test_ref1_unused_months_and_wrong_top_up(client):
    acme = await account(client)
    iccid = await open_active(client, acme["H"], "cmcc", "CMCC-A500", "96")
    refund = await ok(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "unused_months"},
                                        headers=acme["H"]), 201)
    assert refund["amount"] == "88.00"  # 11 whole months after January × 96/12
    c = refund["card"]
    assert (c["balance"], c["auto_renew"], c["term_end"]) == ("88.00", False, "2027-02-01T00:00:00+08:00")
    await refused(await client.post(f"/v1/cards/{iccid}/refunds", json={"kind": "unused_months"},
                                    headers=acme["H"]), 409, "nothing_to_refund")
    # REF-1 wrong top-up: refunded while nothing was charged since
    other = await open_active(client, acme["H"], payment="5")
    payment = (await ok(await client.post(f"/v1/cards/{other}/top-ups", json={"amount": "30"},
                                          headers=acme["H"]), 201))["payment"]
    refund = await ok(await client.post(f"/v1/cards/{other}/refunds", json={"kind": "wrong_top_up",
                                                                            "payment": payment},
                                        headers=acme["H"]), 201)
    assert (refund["amount"], refund["card"]["balance"]) == ("30.00", "0.00")
    await refused(await client.post(f"/v1/cards/{other}/refunds", json={"kind": "wrong_top_up", "payment": payment},
                                    headers=acme["H"]), 409, "already_refunded")
    await refused(await client.post(f"/v1/cards/{other}/refunds", json={"kind": "wrong_top_up", "payment": 0},
                                    headers=acme["H"]), 404, "payment_not_found")
    await refused(await client.post(f"/v1/cards/{other}/refunds", json={"kind": "wrong_top_up"},
                                    headers=acme["H"]), 422, "invalid_input")
    # cucc's contract refunds no unused months
    cucc = await open_active(client, acme["H"], "cucc", "CUCC-A6G", "80")
    await refused(await client.post(f"/v1/cards/{cucc}/refunds", json={"kind": "unused_months"},
                                    headers=acme["H"]), 409, "refund_not_allowed")


# ------------------------------------------------------------------------------------------------ pools


async def test_pool1_pools_over_http(client):
    acme = await account(client)
    pool = await ok(await client.post("/v1/pools", json={"carrier": "cmcc", "name": "fleet"}, headers=acme["H"]),
                    201)
    assert pool == {"id": pool["id"], "carrier": "cmcc", "name": "fleet", "members": [], "used_mb": 0.0,
                    "quota_mb": 0.0}
    a = await open_active(client, acme["H"])
    b = await open_active(client, acme["H"])
    for iccid in (a, b):
        pool = await ok(await client.post(f"/v1/pools/{pool['id']}/members", json={"iccid": iccid},
                                          headers=acme["H"]))
    assert pool["members"] == [a, b] and pool["quota_mb"] == 200.0
    await usage(client, a, mb=150)
    got = await ok(await client.get(f"/v1/pools/{pool['id']}", headers=acme["H"]))
    assert (got["used_mb"], got["quota_mb"]) == (150.0, 200.0)
    assert (await card(client, acme["H"], b))["usage"]["pool"] == {"id": pool["id"], "used_mb": 150.0,
                                                                   "quota_mb": 200.0}
    listed = await ok(await client.get("/v1/pools", headers=acme["H"]))
    assert listed["items"] == [got]
    # POOL-1: exhausting the pool stops every auto_suspend member
    await usage(client, b, mb=60)
    assert (await card(client, acme["H"], a))["reasons"] == ["quota"]
    assert (await card(client, acme["H"], b))["reasons"] == ["quota"]
    cucc = await open_active(client, acme["H"], "cucc", "CUCC-M50", "4")
    before = digest(client)
    await refused(await client.post(f"/v1/pools/{pool['id']}/members", json={"iccid": cucc}, headers=acme["H"]),
                  409, "pool_mismatch")
    await refused(await client.post(f"/v1/pools/{pool['id']}/members", json={"iccid": a}, headers=acme["H"]),
                  409, "already_in_pool")
    assert digest(client) == before
    await refused(await client.get("/v1/pools/pool-nope", headers=acme["H"]), 404, "pool_not_found")
    await refused(await client.post("/v1/pools/pool-nope/members", json={"iccid": a}, headers=acme["H"]), 404,
                  "pool_not_found")
    await refused(await client.post("/v1/pools", json={"carrier": "nope"}, headers=acme["H"]), 404,
                  "carrier_not_found")


# ------------------------------------------------------------------------------------------------ batch jobs


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_batch1_upload_runs_every_row_and_job_can_be_polled(client, fmt):
    acme = await account(client)
    a = await open_active(client, acme["H"])
    b = await open_active(client, acme["H"])
    bad_digit = a[:-1] + str((int(a[-1]) + 1) % 10)
    unknown = make_iccid("898600", 424_242)
    rows = [[a], [bad_digit], [unknown], [b]]
    data = csv_upload("suspend", rows) if fmt == "csv" else xlsx_from_template("suspend", rows)
    r = await client.post("/v1/batch-jobs", data=batch_form("suspend", data, f"停机.{fmt}"), headers=acme["H"])
    job = await ok(r, 201)
    assert job["status"] == "completed" and job["operation"] == "suspend"
    assert (job["succeeded"], job["failed"]) == (2, 2)
    results = [(row["row"], row["iccid"], row["ok"], row.get("code")) for row in job["rows"]]
    assert results == [(2, a, True, None), (3, bad_digit, False, "invalid_row"), (4, unknown, False, "card_not_found"),
                       (5, b, True, None)]
    assert all(row["message"] for row in job["rows"] if not row["ok"])
    for iccid in (a, b):
        assert (await card(client, acme["H"], iccid))["reasons"] == ["manual"]
    polled = await ok(await client.get(f"/v1/batch-jobs/{job['id']}", headers=acme["H"]))
    assert polled == job
    await refused(await client.get("/v1/batch-jobs/job-99999", headers=acme["H"]), 404, "batch_job_not_found")


async def test_batch1_top_up_and_cancel_jobs(client):
    doc = make_credit_code(random.Random(21))
    acme = await account(client, id_number=doc)
    a = await open_active(client, acme["H"], payment="5")
    b = await open_active(client, acme["H"], payment="5", auto_renew=False)
    data = xlsx_from_template("top_up", [[a, 12.5], [b, "abc"]])
    job = await ok(await client.post("/v1/batch-jobs", data=batch_form("top_up", data, "t.xlsx"), headers=acme["H"]),
                   201)
    assert [(row["ok"], row.get("code")) for row in job["rows"]] == [(True, None), (False, "invalid_row")]
    assert (await card(client, acme["H"], a))["balance"] == "12.50"
    await ok(await client.delete(f"/v1/cards/{b}/device", headers=acme["H"]))
    form = batch_form("cancel", csv_upload("cancel", [[a], [b]]), "c.csv", doc)
    job = await ok(await client.post("/v1/batch-jobs", data=form, headers=acme["H"]), 201)
    assert [(row["ok"], row.get("code")) for row in job["rows"]] == [(False, "cancellation_not_allowed"), (True, None)]
    assert job["rows"][1]["review"] == "standard" and job["rows"][1]["due"] == "2027-01-06T00:00:00+08:00"
    assert (await card(client, acme["H"], b))["state"] == "pending_cancel"
    # a second job gets its own id, and the first one is still there
    assert (await ok(await client.get(f"/v1/batch-jobs/{job['id']}", headers=acme["H"])))["succeeded"] == 1


async def test_batch1_bad_uploads_are_refused_and_change_nothing(client):
    acme = await account(client)
    a = await open_active(client, acme["H"])
    sim = client.app[STATE].sim
    before = sim.digest()
    await refused(await client.post("/v1/batch-jobs", json={"operation": "suspend"}, headers=acme["H"]), 422,
                  "invalid_body")
    form = FormData()
    form.add_field("operation", "suspend")
    await refused(await client.post("/v1/batch-jobs", data=form, headers=acme["H"]), 422, "invalid_body")
    form = FormData()
    form.add_field("file", csv_upload("suspend", [[a]]), filename="x.csv", content_type="text/csv")
    await refused(await client.post("/v1/batch-jobs", data=form, headers=acme["H"]), 422, "invalid_body")
    await refused(await client.post("/v1/batch-jobs", data=batch_form("explode", csv_upload("suspend", [[a]]), "x.csv"),
                                    headers=acme["H"]), 422, "invalid_batch_file")
    await refused(await client.post("/v1/batch-jobs", data=batch_form("suspend", b"not a workbook", "x.xlsx"),
                                    headers=acme["H"]), 422, "invalid_batch_file")
    await refused(await client.post("/v1/batch-jobs", data=batch_form("suspend", b"iccid\r\n", "x.txt"),
                                    headers=acme["H"]), 422, "invalid_batch_file")
    await refused(await client.post("/v1/batch-jobs", data=batch_form("cancel", csv_upload("cancel", [[a]]), "x.csv"),
                                    headers=acme["H"]), 422, "invalid_input")
    assert sim.digest() == before
    assert client.app[STATE].batch_jobs == {}


# ------------------------------------------------------------------------------------------------ events feed


async def test_events_feed_with_cursor_sees_only_own_events(client):
    acme = await account(client)
    other = await account(client, name="Other")
    a = await open_active(client, acme["H"])
    await open_active(client, other["H"])
    page = await ok(await client.get("/v1/events", headers=acme["H"]))
    assert page["items"] and all(e["iccid"] == a for e in page["items"])
    assert page["next_cursor"] == len(client.app[STATE].sim.engine.events)
    history = (await ok(await client.get(f"/v1/cards/{a}/history", headers=acme["H"])))["items"]
    assert page["items"] == history
    # nothing new yet
    again = await ok(await client.get(f"/v1/events?cursor={page['next_cursor']}", headers=acme["H"]))
    assert again == {"items": [], "next_cursor": page["next_cursor"]}
    await ok(await client.post(f"/v1/cards/{a}/suspension", headers=acme["H"]))
    new = await ok(await client.get(f"/v1/events?cursor={page['next_cursor']}", headers=acme["H"]))
    assert [(e["kind"], e.get("new_state")) for e in new["items"]] == [("state_changed", "suspended")]
    # small pages, walked with the cursor, give the same events once each, in order
    seen, cursor = [], 0
    for _ in range(100):
        p = await ok(await client.get(f"/v1/events?cursor={cursor}&limit=2", headers=acme["H"]))
        assert len(p["items"]) <= 2
        seen += p["items"]
        if not p["items"] and p["next_cursor"] == cursor:
            break
        cursor = p["next_cursor"]
    assert seen == history + new["items"]
    # the other account's feed never shows acme's card
    theirs = await ok(await client.get("/v1/events", headers=other["H"]))
    assert theirs["items"] and all(e["iccid"] != a for e in theirs["items"])


async def test_events_feed_includes_clock_events(client):
    acme = await account(client)
    a = await open_active(client, acme["H"], payment="5")
    cursor = (await ok(await client.get("/v1/events", headers=acme["H"])))["next_cursor"]
    await advance(client, to="2027-02-01T00:00:00+08:00")
    page = await ok(await client.get(f"/v1/events?cursor={cursor}", headers=acme["H"]))
    assert [(e["kind"], e["cause"], e.get("amount"), e.get("new_state"), e.get("reasons"))
            for e in page["items"]] == [
        ("expired", "clock", None, None, None),
        ("state_changed", "clock", None, "retained", ["expired"]),
        ("charge", "clock", "-5.00", None, None),
        ("state_changed", "clock", None, "retained", ["arrears"]),
    ]
    assert all(e["time"] == "2027-02-01T00:00:00+08:00" and e["iccid"] == a for e in page["items"])


# ------------------------------------------------------------------------------------------------ list cards


async def test_list_cards_filters_by_state_reason_carrier_and_pool(client):
    acme = await account(client)
    other = await account(client, name="Other")
    a = await open_active(client, acme["H"])                           # cmcc, active
    b = await open_active(client, acme["H"])                           # cmcc, suspended manual
    c = (await open_card(client, acme["H"], "cucc", "CUCC-M50", "4"))["iccid"]  # cucc, ready
    d = await open_active(client, acme["H"], "ctcc", "CTCC-M20", "2")  # ctcc, quota
    await open_active(client, other["H"])
    await ok(await client.post(f"/v1/cards/{b}/suspension", headers=acme["H"]))
    await usage(client, d, mb=20)
    pool = await ok(await client.post("/v1/pools", json={"carrier": "cmcc"}, headers=acme["H"]), 201)
    await ok(await client.post(f"/v1/pools/{pool['id']}/members", json={"iccid": b}, headers=acme["H"]))

    async def ids(query: str = "") -> list[str]:
        page = await ok(await client.get(f"/v1/cards{query}", headers=acme["H"]))
        assert page["next_cursor"] is None
        return [x["iccid"] for x in page["items"]]

    assert await ids() == [a, b, c, d]
    assert await ids("?state=active") == [a]
    assert await ids("?state=suspended") == [b, d]
    assert await ids("?state=ready") == [c]
    assert await ids("?reason=manual") == [b]
    assert await ids("?reason=quota") == [d]
    assert await ids("?reason=arrears") == []
    assert await ids("?carrier=cmcc") == [a, b]
    assert await ids("?carrier=ctcc") == [d]
    assert await ids(f"?pool={pool['id']}") == [b]
    assert await ids("?pool=pool-none") == []
    assert await ids("?state=suspended&carrier=cmcc") == [b]
    assert await ids("?state=suspended&reason=quota&carrier=ctcc") == [d]
    page = await ok(await client.get("/v1/cards?state=active", headers=acme["H"]))
    assert page["items"][0] == await card(client, acme["H"], a)
    await refused(await client.get("/v1/cards?state=sleeping", headers=acme["H"]), 422, "invalid_query")
    await refused(await client.get("/v1/cards?reason=bored", headers=acme["H"]), 422, "invalid_query")
    await refused(await client.get("/v1/cards?limit=1001", headers=acme["H"]), 422, "invalid_query")
    await refused(await client.get("/v1/cards?limit=x", headers=acme["H"]), 422, "invalid_query")
    await refused(await client.get("/v1/cards?cursor=-1", headers=acme["H"]), 422, "invalid_query")


async def test_list_cards_cursor_paging_never_skips_or_repeats(client):
    acme = await account(client)
    opened = [(await open_card(client, acme["H"], payment="5"))["iccid"] for _ in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor is not None else "")
        page = await ok(await client.get(f"/v1/cards{query}", headers=acme["H"]))
        pages += 1
        assert len(page["items"]) <= 3
        seen += [x["iccid"] for x in page["items"]]
        if pages == 1:
            # cards opened and cards changed while paging: the walk still sees every card once
            opened.append((await open_card(client, acme["H"], payment="5"))["iccid"])
            await ok(await client.post(f"/v1/cards/{opened[0]}/activation", json={}, headers=acme["H"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == opened
    assert len(set(seen)) == len(seen) == 8
    assert pages == 3


async def test_list_cards_paging_with_a_filter(client):
    acme = await account(client)
    iccids = [await open_active(client, acme["H"], payment="5") for _ in range(6)]
    for iccid in iccids[::2]:
        await ok(await client.post(f"/v1/cards/{iccid}/suspension", headers=acme["H"]))
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        query = "?state=suspended&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await ok(await client.get(f"/v1/cards{query}", headers=acme["H"]))
        seen += [x["iccid"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == iccids[::2]
    # a cursor past the end is an empty last page
    assert await ok(await client.get("/v1/cards?cursor=999", headers=acme["H"])) == {"items": [], "next_cursor": None}


async def test_list_cards_shows_swapped_card_once(client):
    acme = await account(client)
    a = await open_active(client, acme["H"])
    b = await open_active(client, acme["H"])
    first = await ok(await client.get("/v1/cards?limit=1", headers=acme["H"]))
    assert [x["iccid"] for x in first["items"]] == [a]
    await ok(await client.post(f"/v1/cards/{a}/loss-report", headers=acme["H"]))
    new = (await ok(await client.post(f"/v1/cards/{a}/swap", json={}, headers=acme["H"]), 201))["iccid"]
    rest = await ok(await client.get(f"/v1/cards?cursor={first['next_cursor']}", headers=acme["H"]))
    assert [x["iccid"] for x in rest["items"]] == [b, new]
    assert rest["next_cursor"] is None


# ------------------------------------------------------------------------------------------------ webhooks


async def test_webhook_registration_list_and_removal(client):
    acme = await account(client)
    hook = await ok(await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/events"}, headers=acme["H"]),
                    201)
    assert hook["url"] == "http://127.0.0.1:9/events" and hook["secret"].startswith("whsec_")
    assert (hook["delivered"], hook["failures"]) == (0, 0)
    listed = await ok(await client.get("/v1/webhooks", headers=acme["H"]))
    assert [w["id"] for w in listed["items"]] == [hook["id"]]
    assert "secret" not in listed["items"][0]  # shown once, at registration
    await refused(await client.post("/v1/webhooks", json={"url": "ftp://example.com/x"}, headers=acme["H"]), 422,
                  "invalid_body")
    r = await client.delete(f"/v1/webhooks/{hook['id']}", headers=acme["H"])
    assert r.status == 204 and await r.read() == b""
    assert await ok(await client.get("/v1/webhooks", headers=acme["H"])) == {"items": []}
    await refused(await client.delete(f"/v1/webhooks/{hook['id']}", headers=acme["H"]), 404, "webhook_not_found")

