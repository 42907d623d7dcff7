"""Behaviour tests for refunds (退费).

Rule REF-1: fees are never refunded automatically. On request, where the carrier's contract allows it (cmcc and
ctcc yes, cucc no), the whole unused months of the current term — the cycles after the current one up to the term's
end — are credited to the balance at price / term_months each (plus any term paid in advance); the term then ends
at the next cycle start and auto-renewal is turned off. A top-up made to the wrong card (充错) is paid back on
request as long as nothing has been charged since it.
"""

from __future__ import annotations

import pytest
from conftest import DOC, cancel_request, history_of, ledger_of, new_imei, open_active, refund, refused, use, view


# ---------------------------------------------------------------------------------------------------- unused months


def test_ref1_unused_months_of_annual_plan_refunded_at_term_start(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")  # 96.00 for 12 months: 8.00 a month
    assert view(sim, iccid)["term_end"] == "2028-01-01T00:00:00+08:00"
    assert refund(sim, acct, iccid, "unused_months") == "88.00"  # February..December: 11 whole months
    shown = view(sim, iccid)
    assert shown["balance"] == "92.00"
    assert shown["term_end"] == "2027-02-01T00:00:00+08:00"
    assert shown["auto_renew"] is False
    assert shown["state"] == "active"  # the current month stays paid
    events = history_of(sim, iccid)
    refunds = [e for e in events if e["kind"] == "refund"]
    assert len(refunds) == 1
    assert (refunds[0]["amount"], refunds[0]["cause"], refunds[0]["detail"]["item"], refunds[0]["detail"]["months"]) == (
        "88.00", "api", "unused_months", 11)
    assert events[-1]["kind"] == "auto_renew_set" and events[-1]["detail"]["enabled"] is False
    # the term ends at the next cycle start: expired, not renewed (no 96.00 charge)
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["state"] == "active"
    sim.advance(to="2027-02-01T00:00:00")
    shown = view(sim, iccid)
    assert shown["state"] == "retained" and shown["reasons"] == ["expired"]
    assert shown["balance"] == "87.00"  # only the retention fee


def test_ref1_unused_months_mid_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")
    sim.advance(to="2027-03-15T12:00:00")
    assert refund(sim, acct, iccid, "unused_months") == "72.00"  # April..December
    assert view(sim, iccid)["term_end"] == "2027-04-01T00:00:00+08:00"


def test_ref1_last_whole_month_boundary(sim, acct):
    a = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")
    b = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")
    sim.advance(to="2027-11-30T23:59:59")  # December is still a whole unused month
    assert refund(sim, acct, a, "unused_months") == "8.00"
    sim.advance(to="2027-12-01T00:00:00")  # now in the term's last month: nothing whole is left
    refused(sim, "nothing_to_refund", sim.request_refund, acct, b, "unused_months")
    assert view(sim, b)["auto_renew"] is True and view(sim, b)["term_end"] == "2028-01-01T00:00:00+08:00"


def test_ref1_second_request_has_nothing_left(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")
    refund(sim, acct, iccid, "unused_months")
    refused(sim, "nothing_to_refund", sim.request_refund, acct, iccid, "unused_months")


def test_ref1_monthly_plan_has_no_whole_unused_month(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-M100")
    refused(sim, "nothing_to_refund", sim.request_refund, acct, iccid, "unused_months")


def test_ref1_quarterly_plan(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q300", payment="30")  # 24.00 for 3 months
    assert refund(sim, acct, iccid, "unused_months") == "16.00"  # February, March
    assert view(sim, iccid)["balance"] == "22.00"


def test_ref1_term_paid_in_advance_refunded_too(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="200")
    assert sim.renew(acct, iccid) == "prepaid"
    assert view(sim, iccid)["balance"] == "8.00" and view(sim, iccid)["prepaid_terms"] == 1
    assert refund(sim, acct, iccid, "unused_months") == "184.00"  # 11 months + the prepaid 96.00
    shown = view(sim, iccid)
    assert shown["prepaid_terms"] == 0 and shown["balance"] == "192.00"
    sim.advance(to="2027-02-01T00:00:00")
    assert view(sim, iccid)["reasons"] == ["expired"]  # the prepaid term is not used any more


def test_ref1_ctcc_refunds_unused_months(sim, acct):
    iccid = open_active(sim, acct, "ctcc", "CTCC-A200", payment="60")  # 60.00 / 12 = 5.00 a month
    assert refund(sim, acct, iccid, "unused_months") == "55.00"


def test_ref1_cucc_contract_refuses_unused_months(sim, acct):
    iccid = open_active(sim, acct, "cucc", "CUCC-A6G", payment="80")
    err = refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "unused_months")
    assert "China Unicom" in err.message
    assert view(sim, iccid)["term_end"] == "2028-01-01T00:00:00+08:00" and view(sim, iccid)["auto_renew"] is True


def test_ref1_expired_card_has_no_term_to_refund(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q300", payment="30", auto_renew=False)
    sim.advance(to="2027-04-01T00:00:00")
    assert view(sim, iccid)["reasons"] == ["expired"]
    refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "unused_months")


def test_ref1_another_accounts_card_not_found(sim, acct, other):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100")
    refused(sim, "card_not_found", sim.request_refund, other, iccid, "unused_months")


def test_ref1_fees_are_not_refunded_automatically(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="100", auto_renew=False)
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-03-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert [e for e in history_of(sim, iccid) if e["kind"] == "refund"] == []
    assert view(sim, iccid)["balance"] == "4.00"  # what was left after paying the plan, nothing more


# ---------------------------------------------------------------------------------------------------- wrong top-up


def test_ref1_wrong_top_up_refunded_before_any_charge(sim, acct):
    iccid = open_active(sim, acct, payment="10")
    sim.advance(to="2027-01-20T10:00:00")
    seq = sim.top_up(acct, iccid, "50")
    assert view(sim, iccid)["balance"] == "55.00"
    sim.advance(to="2027-01-31T23:59:59")  # the last second before the renewal charge
    assert refund(sim, acct, iccid, "wrong_top_up", payment=seq) == "50.00"
    assert view(sim, iccid)["balance"] == "5.00"
    row = ledger_of(sim, iccid)[-1]
    assert (row["time"], row["kind"], row["item"], row["amount"]) == (
        "2027-01-31T23:59:59+08:00", "payout", "wrong_top_up", "-50.00")
    assert history_of(sim, iccid)[-1]["detail"]["payment"] == seq
    refused(sim, "already_refunded", sim.request_refund, acct, iccid, "wrong_top_up", payment=seq)
    sim.advance(to="2027-02-01T00:00:00")
    assert view(sim, iccid)["state"] == "active" and view(sim, iccid)["balance"] == "0.00"  # renewed from the rest


def test_ref1_wrong_top_up_refused_once_a_charge_was_made(sim, acct):
    iccid = open_active(sim, acct, payment="10")
    seq = sim.top_up(acct, iccid, "50")
    sim.advance(to="2027-02-01T00:00:00")  # the renewal charges 5.00
    err = refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "wrong_top_up", payment=seq)
    assert err.detail["amount"] == "50.00"
    assert view(sim, iccid)["balance"] == "50.00"


def test_ref1_wrong_top_up_refused_after_an_add_on(sim, acct):
    iccid = open_active(sim, acct, payment="5")
    seq = sim.top_up(acct, iccid, "30")
    sim.buy_addon(acct, iccid, "CMCC-ADD100")
    refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "wrong_top_up", payment=seq)


def test_ref1_wrong_top_up_that_paid_arrears_is_used(sim, acct):
    imei = new_imei()
    iccid = open_active(sim, acct, "cmcc", "CMCC-M30", payment="3", imei=imei, auto_suspend=False)
    use(sim, iccid, mb=31, imei=imei)  # overage 0.29: balance -0.29
    seq = sim.top_up(acct, iccid, "10")
    assert view(sim, iccid)["balance"] == "9.71"
    refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "wrong_top_up", payment=seq)


def test_ref1_only_an_earlier_top_up_before_the_charge_is_spent(sim, acct):
    iccid = open_active(sim, acct, payment="5")
    first = sim.top_up(acct, iccid, "20")
    sim.advance(to="2027-02-01T00:00:00")  # renewal: 5.00 charged after the first top-up
    second = sim.top_up(acct, iccid, "30")
    refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "wrong_top_up", payment=first)
    assert refund(sim, acct, iccid, "wrong_top_up", payment=second) == "30.00"
    assert view(sim, iccid)["balance"] == "15.00"


def test_ref1_cucc_refunds_wrong_top_up(sim, acct):
    iccid = open_active(sim, acct, "cucc", "CUCC-M50", payment="4")
    seq = sim.top_up(acct, iccid, "12.34")
    assert refund(sim, acct, iccid, "wrong_top_up", payment=seq) == "12.34"
    assert view(sim, iccid)["balance"] == "0.00"


def test_ref1_opening_payment_is_not_a_wrong_top_up(sim, acct):
    iccid = open_active(sim, acct, payment="50")
    opening = [e for e in history_of(sim, iccid) if e["kind"] == "payment"][0]["seq"]
    refused(sim, "refund_not_allowed", sim.request_refund, acct, iccid, "wrong_top_up", payment=opening)


def test_ref1_wrong_top_up_must_name_a_payment_of_that_card(sim, acct):
    iccid = open_active(sim, acct, payment="10")
    other_card = open_active(sim, acct, payment="10")
    elsewhere = sim.top_up(acct, other_card, "5")
    charge = [e for e in history_of(sim, iccid) if e["kind"] == "charge"][0]["seq"]
    err = refused(sim, "payment_not_found", sim.request_refund, acct, iccid, "wrong_top_up", payment=elsewhere)
    assert err.status == 404
    refused(sim, "payment_not_found", sim.request_refund, acct, iccid, "wrong_top_up", payment=charge)
    refused(sim, "payment_not_found", sim.request_refund, acct, iccid, "wrong_top_up", payment=10 ** 9)
    refused(sim, "payment_not_found", sim.request_refund, acct, iccid, "wrong_top_up", payment=-1)


@pytest.mark.parametrize("payment", [None, "3", 3.0, True])
def test_ref1_wrong_top_up_needs_the_payment_number(sim, acct, payment):
    iccid = open_active(sim, acct, payment="10")
    sim.top_up(acct, iccid, "5")
    refused(sim, "invalid_input", sim.request_refund, acct, iccid, "wrong_top_up", payment=payment)


def test_ref1_wrong_top_up_of_another_accounts_card_not_found(sim, acct, other):
    iccid = open_active(sim, acct, payment="10")
    seq = sim.top_up(acct, iccid, "5")
    refused(sim, "card_not_found", sim.request_refund, other, iccid, "wrong_top_up", payment=seq)
