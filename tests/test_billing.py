"""Billing and prepayment: BILL-1 (pay before), BILL-2 (the cycle start), BILL-3 (terms), BILL-4 (arrears),
BILL-5 (resuming after arrears), with LIFE-3 stacking of ``quota`` and ``arrears``.

Rule ids: BILL-1, BILL-2, BILL-3, BILL-4, BILL-5.
"""

from __future__ import annotations

import pytest

from conftest import balance_of, history_of, ledger_of, open_active, refused, state_events, use, view
from carriersim.simulator import Simulation

KB = 1024  # KB per MB


def items(sim: Simulation, iccid: str) -> list[tuple[str, str | None, str, str]]:
    """The ledger as (time, item, amount, running balance)."""
    return [(r["time"], r["item"], r["amount"], r["balance"]) for r in ledger_of(sim, iccid)]


def arrears_card(sim: Simulation, acct: str, carrier: str, plan: str, price: str, quota_mb: int) -> str:
    """A card opened without auto-suspend with a zero balance, driven 1 KB past its quota: one started MB of
    overage puts it in arrears (QUOTA-5 -> BILL-4)."""
    iccid = open_active(sim, acct, carrier, plan, payment=price, auto_suspend=False)
    assert view(sim, iccid)["balance"] == "0.00"
    use(sim, iccid, kb=quota_mb * KB + 1)
    return iccid


# ------------------------------------------------------------------ BILL-1 prepaid


def test_bill1_open_refused_one_fen_below_price_creates_nothing(sim, acct):
    e = refused(sim, "insufficient_balance", sim.open_card, acct, "cmcc", "CMCC-M100", payment="4.99")
    assert e.status == 402
    assert sim.dump()["accounts"][0]["cards"] == []
    assert sim.dump()["cards"] == []
    assert balance_of(sim, acct) == "0.00"


def test_bill1_open_refused_with_zero_payment(sim, acct):
    refused(sim, "insufficient_balance", sim.open_card, acct, "cucc", "CUCC-M50", payment=0)
    assert sim.dump()["cards"] == []


def test_bill1_open_with_exact_price_leaves_zero_balance(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="5.00")
    card = view(sim, iccid)
    assert card["state"] == "ready" and card["reasons"] == []
    assert card["balance"] == "0.00"
    assert items(sim, iccid) == [("2027-01-01T00:00:00+08:00", "payment", "5.00", "5.00"),
                                 ("2027-01-01T00:00:00+08:00", "CMCC-M100", "-5.00", "0.00")]


def test_bill1_payment_recorded_then_price_charged(sim, acct):
    iccid = sim.open_card(acct, "ctcc", "CTCC-M300", payment="20")
    kinds = [(e["kind"], e.get("amount")) for e in history_of(sim, iccid) if e["kind"] in ("payment", "charge")]
    assert kinds == [("payment", "20.00"), ("charge", "-8.00")]
    assert view(sim, iccid)["balance"] == "12.00"
    assert balance_of(sim, acct) == "12.00"


def test_bill1_default_payment_is_the_plan_price(sim, acct):
    iccid = sim.open_card(acct, "cucc", "CUCC-A6G")
    assert view(sim, iccid)["balance"] == "0.00"
    assert [r["amount"] for r in ledger_of(sim, iccid)] == ["80.00", "-80.00"]


def test_bill1_testing_card_is_opened_paid(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M30", payment="3", testing=True)
    assert view(sim, iccid)["state"] == "testing"
    assert view(sim, iccid)["balance"] == "0.00"


def test_bill1_open_from_stock_refused_leaves_card_in_stock(sim, acct):
    [stock] = sim.add_inventory("cmcc", 1)
    refused(sim, "insufficient_balance", sim.open_card, acct, "cmcc", "CMCC-M1G", payment="14.99", iccid=stock)
    card = view(sim, stock)
    assert card["state"] == "inventory" and card["account"] is None and card["balance"] == "0.00"
    sold = sim.open_card(acct, "cmcc", "CMCC-M1G", payment="15", iccid=stock)
    assert sold == stock and view(sim, stock)["state"] == "ready"


@pytest.mark.parametrize("payment", ["-1", "abc", "5.001", True])
def test_bill1_open_bad_payment_is_invalid_input(sim, acct, payment):
    refused(sim, "invalid_input", sim.open_card, acct, "cmcc", "CMCC-M100", payment=payment)


def test_bill1_open_refusal_detail_is_in_cny(sim, acct):
    e = refused(sim, "insufficient_balance", sim.open_card, acct, "cmcc", "CMCC-M100", payment="4.99")
    assert e.detail == {"price": "5.00", "paid": "4.99"}


def test_bill1_renew_refused_one_fen_short_changes_nothing(sim, acct):
    iccid = open_active(sim, acct, payment="9.99")  # balance 4.99 < 5.00
    e = refused(sim, "insufficient_balance", sim.renew, acct, iccid)
    assert e.status == 402 and e.detail["price"] == "5.00" and e.detail["balance"] == "4.99"
    sim.top_up(acct, iccid, "0.01")
    assert sim.renew(acct, iccid) == "prepaid"
    assert view(sim, iccid)["balance"] == "0.00" and view(sim, iccid)["prepaid_terms"] == 1


# ------------------------------------------------------------------ BILL-2 the cycle start


def test_bill2_monthly_plan_renewed_at_cycle_start_not_a_second_before(sim, acct):
    iccid = open_active(sim, acct)  # balance 95
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["balance"] == "95.00"
    assert view(sim, iccid)["term_end"] == "2027-02-01T00:00:00+08:00"
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["balance"] == "90.00"
    assert card["term_start"] == "2027-02-01T00:00:00+08:00" and card["term_end"] == "2027-03-01T00:00:00+08:00"
    charge = [e for e in history_of(sim, iccid) if e["kind"] == "charge"][-1]
    assert (charge["time"], charge["cause"], charge["amount"]) == ("2027-02-01T00:00:00+08:00", "clock", "-5.00")
    renewed = [e for e in history_of(sim, iccid) if e["kind"] == "renewed"]
    assert [(e["time"], e["cause"], e["detail"]["plan"]) for e in renewed] == [
        ("2027-02-01T00:00:00+08:00", "clock", "CMCC-M100")]


def test_bill2_monthly_usage_resets_at_cycle_start(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, mb=60)
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["usage"]["cycle_mb"] == 60.0
    assert view(sim, iccid)["usage"]["quota_used_mb"] == 60.0
    sim.advance(by="1 second")
    assert view(sim, iccid)["usage"]["cycle_mb"] == 0.0
    assert view(sim, iccid)["usage"]["quota_used_mb"] == 0.0
    r = use(sim, iccid, mb=100)  # the whole monthly quota is there again
    assert r.accepted_kb == 100 * KB and r.reasons == ["quota"]


def test_bill2_one_cycle_start_per_month_across_several_months(sim, acct):
    iccid = open_active(sim, acct, payment="20")  # balance 15: three renewals
    sim.advance(to="2027-04-15")
    renewals = [e["time"] for e in history_of(sim, iccid) if e["kind"] == "renewed"]
    assert renewals == ["2027-02-01T00:00:00+08:00", "2027-03-01T00:00:00+08:00", "2027-04-01T00:00:00+08:00"]
    assert view(sim, iccid)["balance"] == "0.00"


def test_bill2_retention_fee_charged_at_each_cycle_start(sim, acct):
    iccid = open_active(sim, acct, payment="20", auto_renew=False)
    sim.advance(to="2027-03-15")
    fees = [(r["time"], r["amount"]) for r in ledger_of(sim, iccid) if r["item"] == "retention_fee"]
    assert fees == [("2027-02-01T00:00:00+08:00", "-5.00"), ("2027-03-01T00:00:00+08:00", "-5.00")]
    assert view(sim, iccid)["balance"] == "5.00"


# ------------------------------------------------------------------ BILL-3 terms


def test_bill3_monthly_term_ends_at_next_cycle_start(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100")
    sim.advance(to="2027-01-15T10:30:00")
    sim.activate(acct, iccid)
    card = view(sim, iccid)
    assert card["term_start"] == "2027-01-15T10:30:00+08:00"
    assert card["term_end"] == "2027-02-01T00:00:00+08:00"


def test_bill3_quarterly_term_counts_the_partial_month_as_month_one(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-Q300")
    sim.advance(to="2027-01-31T23:59:59")
    sim.activate(acct, iccid)
    assert view(sim, iccid)["term_end"] == "2027-04-01T00:00:00+08:00"


def test_bill3_quarterly_term_activated_at_cycle_start(sim, acct):
    iccid = sim.open_card(acct, "cucc", "CUCC-Q1G")
    sim.advance(to="2027-02-01T00:00:00")
    sim.activate(acct, iccid)
    assert view(sim, iccid)["term_end"] == "2027-05-01T00:00:00+08:00"


def test_bill3_annual_term_ends_twelve_cycle_starts_later(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="96")
    assert view(sim, iccid)["term_end"] == "2028-01-01T00:00:00+08:00"


def test_bill3_monthly_term_started_on_new_years_eve_ends_next_year(sim, acct):
    iccid = sim.open_card(acct, "ctcc", "CTCC-M20", payment="2", auto_renew=False)
    sim.advance(to="2027-12-31T23:59:59")
    sim.activate(acct, iccid)
    assert view(sim, iccid)["term_end"] == "2028-01-01T00:00:00+08:00"


def test_bill3_quarterly_plan_charged_once_per_term_with_monthly_quota(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q300", payment="48")  # balance 24: one renewal
    use(sim, iccid, mb=300)
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["state"] == "active"  # monthly quota: reset each cycle
    assert view(sim, iccid)["usage"]["quota_used_mb"] == 0.0
    sim.advance(to="2027-03-31T23:59:59")
    assert view(sim, iccid)["balance"] == "24.00"  # no charge at Feb 1 or Mar 1
    sim.advance(by="1 second")
    assert view(sim, iccid)["balance"] == "0.00"
    assert view(sim, iccid)["term_end"] == "2027-07-01T00:00:00+08:00"
    assert [r["time"] for r in ledger_of(sim, iccid) if r["item"] == "CMCC-Q300"] == [
        "2027-01-01T00:00:00+08:00", "2027-04-01T00:00:00+08:00"]


def test_bill3_term_quota_spans_the_whole_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="72")  # balance 36: one renewal
    use(sim, iccid, mb=2000)
    sim.advance(to="2027-02-01")
    usage = view(sim, iccid)["usage"]
    assert usage["cycle_mb"] == 0.0 and usage["quota_used_mb"] == 2000.0  # the term's counter carries on
    r = use(sim, iccid, mb=1100)
    assert r.accepted_kb == 1072 * KB and r.refused_because == "quota"
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(to="2027-03-31T23:59:59")
    assert view(sim, iccid)["reasons"] == ["quota"]  # no new term yet: a cycle start does not lift it
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["usage"]["quota_used_mb"] == 0.0
    assert card["balance"] == "0.00" and card["term_end"] == "2027-07-01T00:00:00+08:00"


def test_bill3_auto_renew_with_balance_exactly_the_price(sim, acct):
    iccid = open_active(sim, acct, payment="10")  # balance 5.00 = price
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["balance"] == "0.00"
    assert card["term_end"] == "2027-03-01T00:00:00+08:00"


def test_bill3_expires_when_balance_is_one_fen_short(sim, acct):
    iccid = open_active(sim, acct, payment="9.99")  # balance 4.99
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["state"] == "retained"
    assert card["reasons"] == ["arrears", "expired"]  # the retention fee (5.00) drives it below zero
    assert card["balance"] == "-0.01"
    expired = [e for e in history_of(sim, iccid) if e["kind"] == "expired"]
    assert [(e["time"], e["detail"]["why"]) for e in expired] == [("2027-02-01T00:00:00+08:00",
                                                                   "insufficient_balance")]
    assert [r["time"] for r in ledger_of(sim, iccid) if r["item"] == "CMCC-M100"] == ["2027-01-01T00:00:00+08:00"]


def test_bill3_auto_renew_off_expires_even_with_balance(sim, acct):
    iccid = open_active(sim, acct, auto_renew=False)  # balance 95
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["state"] == "retained" and card["reasons"] == ["expired"]
    assert card["balance"] == "90.00"  # only the retention fee
    assert [e["detail"]["why"] for e in history_of(sim, iccid) if e["kind"] == "expired"] == ["auto_renew_off"]


def test_bill3_prepaid_term_used_before_auto_renewal(sim, acct):
    iccid = open_active(sim, acct, payment="20")  # balance 15
    assert sim.renew(acct, iccid) == "prepaid"
    assert view(sim, iccid)["balance"] == "10.00"
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["balance"] == "10.00" and card["prepaid_terms"] == 0
    assert card["term_end"] == "2027-03-01T00:00:00+08:00"
    sim.advance(to="2027-03-01")
    assert view(sim, iccid)["balance"] == "5.00"  # auto-renewal again once the prepaid term is used


# ------------------------------------------------------------------ BILL-4 arrears


def test_bill4_balance_exactly_zero_is_not_arrears_one_fen_below_is(sim, acct):
    iccid = open_active(sim, acct, payment="5.29", auto_suspend=False)  # balance 0.29 = one MB of overage
    use(sim, iccid, mb=100)
    use(sim, iccid, kb=1)  # first started MB: 0.29
    card = view(sim, iccid)
    assert card["balance"] == "0.00" and card["state"] == "active" and card["reasons"] == []
    use(sim, iccid, kb=KB - 1)  # still inside the first started MB
    assert view(sim, iccid)["balance"] == "0.00"
    r = use(sim, iccid, kb=1)  # the second MB starts
    assert r.accepted_kb == 1 and r.state == "suspended" and r.reasons == ["arrears"]
    card = view(sim, iccid)
    assert card["balance"] == "-0.29" and card["state"] == "suspended" and card["reasons"] == ["arrears"]
    last = state_events(sim, iccid)[-1]
    assert (last["cause"], last["old_state"], last["new_state"], last["reasons"], last["change"]) == (
        "usage", "active", "suspended", ["arrears"], "added")


def test_bill4_card_in_arrears_carries_no_traffic(sim, acct):
    iccid = arrears_card(sim, acct, "cmcc", "CMCC-M100", "5", 100)
    assert view(sim, iccid)["balance"] == "-0.29"
    r = use(sim, iccid, mb=1)
    assert (r.accepted_kb, r.refused_kb, r.refused_because) == (0, KB, "suspended")
    assert view(sim, iccid)["balance"] == "-0.29"


def test_bill4_arrears_suspends_on_every_carrier(sim, acct):
    for carrier, plan, price, quota, owed in (("cmcc", "CMCC-M30", "3", 30, "-0.29"),
                                              ("cucc", "CUCC-M50", "4", 50, "-0.30"),
                                              ("ctcc", "CTCC-M20", "2", 20, "-0.25")):
        iccid = arrears_card(sim, acct, carrier, plan, price, quota)
        card = view(sim, iccid)
        assert (card["balance"], card["state"], card["reasons"]) == (owed, "suspended", ["arrears"]), carrier


# ------------------------------------------------------------------ BILL-5 resuming after arrears


def test_bill5_cmcc_resumes_only_once_the_whole_arrears_are_paid(sim, acct):
    iccid = arrears_card(sim, acct, "cmcc", "CMCC-M100", "5", 100)
    sim.top_up(acct, iccid, "0.28")
    assert view(sim, iccid)["balance"] == "-0.01" and view(sim, iccid)["reasons"] == ["arrears"]
    sim.top_up(acct, iccid, "0.01")
    card = view(sim, iccid)
    assert card["balance"] == "0.00" and card["state"] == "active" and card["reasons"] == []
    last = state_events(sim, iccid)[-1]
    assert (last["cause"], last["reasons"], last["change"]) == ("api", ["arrears"], "removed")
    assert use(sim, iccid, kb=1).accepted_kb == 1


def test_bill5_cucc_resumes_automatically_on_payment(sim, acct):
    iccid = arrears_card(sim, acct, "cucc", "CUCC-M50", "4", 50)
    sim.top_up(acct, iccid, "10")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["balance"] == "9.70"


def test_bill5_cmcc_reactivate_after_auto_resume_is_refused(sim, acct):
    iccid = arrears_card(sim, acct, "cmcc", "CMCC-M100", "5", 100)
    sim.top_up(acct, iccid, "1")
    refused(sim, "not_in_arrears", sim.reactivate, acct, iccid)


def test_bill5_ctcc_needs_reactivate_after_paying(sim, acct):
    iccid = arrears_card(sim, acct, "ctcc", "CTCC-M20", "2", 20)
    sim.top_up(acct, iccid, "0.25")
    card = view(sim, iccid)
    assert card["balance"] == "0.00"
    assert card["state"] == "suspended" and card["reasons"] == ["arrears"]  # paid, not resumed
    assert use(sim, iccid, kb=1).refused_because == "suspended"
    sim.advance(to="2027-01-20")
    assert view(sim, iccid)["reasons"] == ["arrears"]  # time does not resume it either
    sim.reactivate(acct, iccid)
    card = view(sim, iccid)
    assert card["state"] == "active" and card["reasons"] == []
    last = state_events(sim, iccid)[-1]
    assert (last["cause"], last["reasons"], last["change"], last["time"]) == (
        "api", ["arrears"], "removed", "2027-01-20T00:00:00+08:00")
    refused(sim, "not_in_arrears", sim.reactivate, acct, iccid)


def test_bill5_ctcc_reactivate_before_arrears_are_paid_is_refused(sim, acct):
    iccid = arrears_card(sim, acct, "ctcc", "CTCC-M20", "2", 20)
    e = refused(sim, "insufficient_balance", sim.reactivate, acct, iccid)
    assert e.status == 402
    sim.top_up(acct, iccid, "0.24")  # one fen short
    refused(sim, "insufficient_balance", sim.reactivate, acct, iccid)
    sim.top_up(acct, iccid, "0.01")
    sim.reactivate(acct, iccid)
    assert view(sim, iccid)["state"] == "active"


def test_bill5_reactivate_a_card_never_in_arrears_is_refused(sim, acct):
    iccid = open_active(sim, acct, "ctcc", "CTCC-M300", payment="8")
    refused(sim, "not_in_arrears", sim.reactivate, acct, iccid)


@pytest.mark.parametrize("amount", [0, "-1", "0.001", "abc", "100000.01"])
def test_bill5_top_up_bad_amount_refused(sim, acct, amount):
    iccid = arrears_card(sim, acct, "cmcc", "CMCC-M100", "5", 100)
    refused(sim, "invalid_input", sim.top_up, acct, iccid, amount)


def _ctcc_quota_and_arrears(sim: Simulation, acct: str) -> str:
    """A ctcc card suspended for both ``quota`` and ``arrears`` on a valid plan, at 2027-02-10.

    Its first term expired unrenewed (the retention fee put it in arrears); it was paid and renewed but, ctcc
    resuming arrears only on request (BILL-5), it still carries ``arrears``; then another member of its pool used up
    the pool (POOL-1), which stops it for ``quota`` too."""
    iccid = open_active(sim, acct, "ctcc", "CTCC-M20", payment="2", auto_renew=False)  # balance 0
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["reasons"] == ["arrears", "expired"] and view(sim, iccid)["balance"] == "-5.00"
    sim.advance(to="2027-02-10")
    sim.top_up(acct, iccid, "9")
    assert sim.renew(acct, iccid) == "restored"
    sim.set_auto_renew(acct, iccid, True)
    assert view(sim, iccid)["reasons"] == ["arrears"] and view(sim, iccid)["balance"] == "2.00"
    mate = open_active(sim, acct, "ctcc", "CTCC-M20", payment="10")
    pool = sim.create_pool(acct, "ctcc", "pool")
    sim.add_to_pool(acct, pool, iccid)
    sim.add_to_pool(acct, pool, mate)
    use(sim, mate, mb=40)
    card = view(sim, iccid)
    assert card["reasons"] == ["quota", "arrears"] and card["state"] == "suspended"
    return iccid


def test_bill5_quota_and_arrears_paying_arrears_leaves_quota_until_next_cycle(sim, acct):
    iccid = _ctcc_quota_and_arrears(sim, acct)
    sim.reactivate(acct, iccid)  # arrears cleared
    card = view(sim, iccid)
    assert card["state"] == "suspended" and card["reasons"] == ["quota"]  # LIFE-3
    assert use(sim, iccid, kb=1).refused_because == "suspended"
    sim.advance(to="2027-02-28T23:59:59")
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["reasons"] == [] and card["balance"] == "0.00"  # renewed too


def test_bill5_quota_and_arrears_next_cycle_lifts_quota_only(sim, acct):
    iccid = _ctcc_quota_and_arrears(sim, acct)
    sim.advance(to="2027-03-01")
    card = view(sim, iccid)
    assert card["state"] == "suspended" and card["reasons"] == ["arrears"]  # quota gone, arrears not cleared
    assert use(sim, iccid, kb=1).refused_because == "suspended"
    sim.reactivate(acct, iccid)
    assert view(sim, iccid)["state"] == "active"


def test_bill5_cmcc_paying_arrears_on_quota_card_leaves_quota(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="36")  # balance 0
    use(sim, iccid, mb=3072)
    sim.advance(to="2027-04-01")
    assert view(sim, iccid)["reasons"] == ["quota", "arrears", "expired"]
    sim.top_up(acct, iccid, "5")  # pays the retention fee: arrears resume at once (cmcc)
    card = view(sim, iccid)
    assert card["balance"] == "0.00" and card["reasons"] == ["quota", "expired"] and card["state"] == "retained"
