"""Plan changes (变更套餐): PLAN-1 (effective at the next cycle start, never in the current month), PLAN-2 (replace or
withdraw a pending change; the card shows it), PLAN-3 (only the selling account may change a plan or serve the card;
to anyone else the card does not exist).

Rule ids: PLAN-1, PLAN-2, PLAN-3.
"""

from __future__ import annotations

import pytest

from conftest import batch_of, cancel_request, history_of, kinds, ledger_of, open_active, plan_change, refused, use, view
from carriersim.simulator import SimError, Simulation
from carriersim.simulator.batch_files import write_template
from carriersim.simulator.identifiers import make_iccid

KB = 1024


# ------------------------------------------------------------------ PLAN-1


def test_plan1_asked_last_second_of_january_applies_at_february_midnight(sim, acct):
    iccid = open_active(sim, acct)  # CMCC-M100, balance 95
    sim.advance(to="2027-01-31T23:59:59")
    assert plan_change(sim, acct, iccid, "CMCC-M1G") == "2027-02-01T00:00:00+08:00"
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M100"  # pending: the old plan stays until the cycle start
    assert card["pending_change"] == {"plan": "CMCC-M1G", "effective_at": "2027-02-01T00:00:00+08:00"}
    assert card["usage"]["quota_mb"] == 100.0 and card["balance"] == "95.00"
    sim.advance(to="2027-01-31T23:59:59")  # no time passes: still pending
    assert view(sim, iccid)["plan"] == "CMCC-M100"
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M1G" and card["pending_change"] is None
    assert card["usage"]["quota_mb"] == 1024.0
    assert card["balance"] == "80.00"  # the new plan's price, and no renewal of the old one
    assert card["term_start"] == "2027-02-01T00:00:00+08:00" and card["term_end"] == "2027-03-01T00:00:00+08:00"
    [applied] = kinds(sim, iccid, "plan_change_applied")
    assert (applied["time"], applied["cause"], applied["detail"]) == (
        "2027-02-01T00:00:00+08:00", "clock", {"from": "CMCC-M100", "to": "CMCC-M1G"})
    assert [(r["time"], r["item"], r["amount"]) for r in ledger_of(sim, iccid)][-1] == (
        "2027-02-01T00:00:00+08:00", "CMCC-M1G", "-15.00")


def test_plan1_asked_last_second_of_2027_applies_on_new_years_day_2028(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="111")  # annual: term ends 2028-01-01
    sim.advance(to="2027-06-01")
    use(sim, iccid, mb=1)  # a card in use: CAN-5 would cancel one idle for the 12 months
    sim.advance(to="2027-12-31T23:59:59")
    assert plan_change(sim, acct, iccid, "CMCC-M1G") == "2028-01-01T00:00:00+08:00"
    sim.advance(to="2027-12-31T23:59:59")
    assert view(sim, iccid)["plan"] == "CMCC-A500"
    assert view(sim, iccid)["pending_change"]["effective_at"] == "2028-01-01T00:00:00+08:00"
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M1G" and card["pending_change"] is None
    assert card["balance"] == "0.00"  # 15 for the new plan; the annual plan is not renewed as well
    assert card["term_end"] == "2028-02-01T00:00:00+08:00"
    assert [e["time"] for e in kinds(sim, iccid, "plan_change_applied")] == ["2028-01-01T00:00:00+08:00"]
    assert kinds(sim, iccid, "renewed", "expired") == []


def test_plan1_asked_at_the_cycle_start_instant_waits_a_whole_month(sim, acct):
    iccid = open_active(sim, acct)
    assert sim.now == sim.engine.carriers["cmcc"].cycle_start  # 2027-01-01T00:00 is itself a cycle start
    assert plan_change(sim, acct, iccid, "CMCC-M30") == "2027-02-01T00:00:00+08:00"
    assert view(sim, iccid)["plan"] == "CMCC-M100"
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["plan"] == "CMCC-M100"


def test_plan1_old_quota_stays_in_force_until_the_change(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    r = use(sim, iccid, mb=200)
    assert r.accepted_kb == 100 * KB and r.reasons == ["quota"]
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["plan"] == "CMCC-M1G"
    assert use(sim, iccid, mb=1000).accepted_kb == 1000 * KB


def test_plan1_old_price_stays_until_the_change(sim, acct):
    iccid = open_active(sim, acct, payment="8")  # balance 3
    plan_change(sim, acct, iccid, "CMCC-M30")  # cheaper: 3.00
    assert view(sim, iccid)["balance"] == "3.00"  # nothing charged at the request
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M30" and card["balance"] == "0.00" and card["state"] == "active"


def test_plan1_change_on_a_quarterly_plan_starts_a_new_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q300", payment="40")  # term to 2027-04-01, balance 16
    sim.advance(to="2027-01-10")
    assert plan_change(sim, acct, iccid, "CMCC-M1G") == "2027-02-01T00:00:00+08:00"
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M1G" and card["balance"] == "1.00"
    assert card["term_start"] == "2027-02-01T00:00:00+08:00" and card["term_end"] == "2027-03-01T00:00:00+08:00"
    sim.advance(to="2027-04-01")  # the old term's end (April 1) is moot; March 1 expired the unfunded M1G
    assert kinds(sim, iccid, "renewed") == []
    assert [e["time"] for e in kinds(sim, iccid, "expired")] == ["2027-03-01T00:00:00+08:00"]


def test_plan1_change_to_a_term_quota_plan_resets_the_counters(sim, acct):
    iccid = open_active(sim, acct, payment="41")  # balance 36
    use(sim, iccid, mb=100)
    plan_change(sim, acct, iccid, "CMCC-Q3G")
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-Q3G" and card["state"] == "active"
    assert card["usage"]["quota_mb"] == 3072.0 and card["usage"]["quota_used_mb"] == 0.0
    assert card["term_end"] == "2027-05-01T00:00:00+08:00"


def test_plan1_request_needs_the_new_price_in_the_balance(sim, acct):
    iccid = open_active(sim, acct, payment="19.99")  # balance 14.99 < 15.00
    e = refused(sim, "insufficient_balance", sim.change_plan, acct, iccid, "CMCC-M1G")
    assert e.status == 402 and e.detail["price"] == "15.00" and e.detail["balance"] == "14.99"
    assert view(sim, iccid)["pending_change"] is None
    sim.top_up(acct, iccid, "0.01")
    assert plan_change(sim, acct, iccid, "CMCC-M1G") == "2027-02-01T00:00:00+08:00"


def test_plan1_change_fails_at_the_cycle_if_the_balance_no_longer_covers_it(sim, acct):
    iccid = open_active(sim, acct, payment="20")  # balance 15
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.buy_addon(acct, iccid, "CMCC-ADD100")  # balance 10
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M100" and card["pending_change"] is None
    assert card["balance"] == "5.00" and card["state"] == "active"  # the old plan renewed instead
    [failed] = kinds(sim, iccid, "plan_change_failed")
    assert failed["time"] == "2027-02-01T00:00:00+08:00" and failed["cause"] == "clock"
    assert failed["detail"] == {"plan": "CMCC-M1G", "why": "insufficient_balance"}


def test_plan1_same_plan_refused(sim, acct):
    iccid = open_active(sim, acct)
    refused(sim, "plan_change_not_allowed", sim.change_plan, acct, iccid, "CMCC-M100")


def test_plan1_expired_card_refused(sim, acct):
    iccid = open_active(sim, acct, auto_renew=False)
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["state"] == "retained"
    refused(sim, "plan_change_not_allowed", sim.change_plan, acct, iccid, "CMCC-M1G")


@pytest.mark.parametrize("code", ["CMCC-M999", "CUCC-M50", "cmcc-m1g", ""])
def test_plan1_unknown_plan_refused(sim, acct, code):
    iccid = open_active(sim, acct)
    e = refused(sim, "plan_not_found", sim.change_plan, acct, iccid, code)
    assert e.status == 404


def test_plan1_change_refused_while_next_term_is_prepaid(sim, acct):
    iccid = open_active(sim, acct)
    sim.renew(acct, iccid)
    refused(sim, "plan_change_not_allowed", sim.change_plan, acct, iccid, "CMCC-M1G")


def test_plan1_prepaying_after_the_request_never_pays_for_the_new_plan(sim, acct):
    """A term of CMCC-M100 (5.00) paid in advance after a change to CMCC-M1G (15.00) was asked must not be used up
    as a term of the dearer plan: the change fails at the cycle start and the prepaid term is used."""
    iccid = open_active(sim, acct)  # balance 95
    plan_change(sim, acct, iccid, "CMCC-M1G")
    assert sim.renew(acct, iccid) == "prepaid"  # balance 90
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M100" and card["prepaid_terms"] == 0 and card["balance"] == "90.00"
    assert [e["detail"]["why"] for e in kinds(sim, iccid, "plan_change_failed")] == ["prepaid_term"]
    sim.advance(to="2027-03-01")
    assert view(sim, iccid)["balance"] == "85.00"


def test_plan1_pending_change_not_charged_on_a_card_under_cancellation_review(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.advance(to="2027-01-29T10:00:00")  # a Friday: a 3 working day review ends Wednesday Feb 3
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    review = cancel_request(sim, acct, iccid, "91350100M000100Y43")
    assert review["due"] == "2027-02-03T10:00:00+08:00"
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["plan"] == "CMCC-M100"
    assert [r for r in ledger_of(sim, iccid) if r["item"] == "CMCC-M1G"] == []  # no new term for a card on its way out
    assert [e["detail"]["why"] for e in kinds(sim, iccid, "plan_change_failed")] == ["pending_cancel"]


def test_plan1_change_on_a_quota_stopped_card_resumes_it_with_the_new_plan(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, mb=100)
    plan_change(sim, acct, iccid, "CMCC-M30")
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["plan"] == "CMCC-M30" and card["usage"]["quota_mb"] == 30.0


# ------------------------------------------------------------------ PLAN-2


def test_plan2_latest_request_replaces_the_pending_one(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.advance(to="2027-01-20")
    assert plan_change(sim, acct, iccid, "CMCC-M30") == "2027-02-01T00:00:00+08:00"
    assert view(sim, iccid)["pending_change"] == {"plan": "CMCC-M30", "effective_at": "2027-02-01T00:00:00+08:00"}
    requests = kinds(sim, iccid, "plan_change_requested")
    assert [(e["detail"]["to"], e["detail"]["replaces"]) for e in requests] == [("CMCC-M1G", None),
                                                                                ("CMCC-M30", "CMCC-M1G")]
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M30" and card["balance"] == "92.00"
    assert len(kinds(sim, iccid, "plan_change_applied")) == 1


def test_plan2_replacement_checks_the_new_price(sim, acct):
    iccid = open_active(sim, acct, payment="10")  # balance 5
    plan_change(sim, acct, iccid, "CMCC-M30")
    refused(sim, "insufficient_balance", sim.change_plan, acct, iccid, "CMCC-M1G")
    assert view(sim, iccid)["pending_change"]["plan"] == "CMCC-M30"


def test_plan2_back_to_the_current_plan_is_refused_withdraw_instead(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    e = refused(sim, "plan_change_not_allowed", sim.change_plan, acct, iccid, "CMCC-M100")
    assert "withdraw" in e.message
    assert view(sim, iccid)["pending_change"]["plan"] == "CMCC-M1G"


def test_plan2_withdraw_keeps_the_old_plan(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.advance(to="2027-01-31T23:59:59")
    sim.withdraw_plan_change(acct, iccid)
    assert view(sim, iccid)["pending_change"] is None
    [withdrawn] = kinds(sim, iccid, "plan_change_withdrawn")
    assert withdrawn["time"] == "2027-01-31T23:59:59+08:00" and withdrawn["detail"] == {"plan": "CMCC-M1G"}
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["plan"] == "CMCC-M100" and card["balance"] == "90.00"
    assert kinds(sim, iccid, "plan_change_applied", "plan_change_failed") == []


def test_plan2_withdraw_without_pending_change_refused(sim, acct):
    iccid = open_active(sim, acct)
    refused(sim, "no_pending_change", sim.withdraw_plan_change, acct, iccid)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.withdraw_plan_change(acct, iccid)
    refused(sim, "no_pending_change", sim.withdraw_plan_change, acct, iccid)


def test_plan2_nothing_to_withdraw_once_applied(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.advance(to="2027-02-01")
    refused(sim, "no_pending_change", sim.withdraw_plan_change, acct, iccid)


def test_plan2_request_after_the_change_waits_for_the_following_cycle(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.advance(to="2027-02-01")
    assert plan_change(sim, acct, iccid, "CMCC-M100") == "2027-03-01T00:00:00+08:00"
    assert view(sim, iccid)["plan"] == "CMCC-M1G"


def test_plan2_withdraw_then_ask_again(sim, acct):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M1G")
    sim.withdraw_plan_change(acct, iccid)
    plan_change(sim, acct, iccid, "CMCC-M30")
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["plan"] == "CMCC-M30"


# ------------------------------------------------------------------ PLAN-3


def _ghost(sim: Simulation) -> str:
    ghost = make_iccid("898600", 999_999)
    assert ghost not in sim.engine.by_iccid
    return ghost


def _same_refusal(a: SimError, a_iccid: str, b: SimError, b_iccid: str) -> None:
    assert a.code == b.code == "card_not_found"
    assert a.status == b.status == 404
    assert a.message.replace(a_iccid, "<ICCID>") == b.message.replace(b_iccid, "<ICCID>")
    assert a.detail == b.detail
    assert a.to_dict().keys() == b.to_dict().keys()


PLAN_OPERATIONS = [
    ("change_plan", ("CMCC-M1G",)),
    ("change_plan", ("CMCC-M100",)),  # the card's own plan: still not found, not plan_change_not_allowed
    ("change_plan", ("NO-SUCH-PLAN",)),  # not plan_not_found either
    ("withdraw_plan_change", ()),
]
SERVICE_OPERATIONS = [
    ("top_up", ("10",)), ("renew", ()), ("buy_addon", ("CMCC-ADD100",)), ("reactivate", ()), ("suspend", ()),
    ("resume", ()), ("set_auto_renew", (False,)), ("activate", ()), ("unbind_device", ()), ("appeal_region", ()),
    ("report_lost", ()), ("request_refund", ("unused_months",)), ("certificate", ()),
]


@pytest.mark.parametrize("op,args", PLAN_OPERATIONS + SERVICE_OPERATIONS,
                         ids=[f"{op}-{'-'.join(map(str, args))}" for op, args in PLAN_OPERATIONS + SERVICE_OPERATIONS])
def test_plan3_other_accounts_request_reads_as_a_nonexistent_card(sim, acct, other, op, args):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M30")  # a pending change the intruder must neither see nor touch
    ghost = _ghost(sim)
    theirs = refused(sim, "card_not_found", getattr(sim, op), other, iccid, *args)
    missing = refused(sim, "card_not_found", getattr(sim, op), other, ghost, *args)
    _same_refusal(theirs, iccid, missing, ghost)
    assert view(sim, iccid)["pending_change"]["plan"] == "CMCC-M30"


def test_plan3_reads_by_another_account_reveal_nothing(sim, acct, other):
    iccid = open_active(sim, acct)
    ghost = _ghost(sim)
    for read in (sim.card, sim.history, sim.ledger):
        theirs = refused(sim, "card_not_found", read, iccid, other)
        missing = refused(sim, "card_not_found", read, ghost, other)
        _same_refusal(theirs, iccid, missing, ghost)
    assert view(sim, iccid, acct)["plan"] == "CMCC-M100"


def test_plan3_owner_is_still_served_and_the_change_applies(sim, acct, other):
    iccid = open_active(sim, acct)
    with pytest.raises(SimError):
        plan_change(sim, other, iccid, "CMCC-M1G")
    plan_change(sim, acct, iccid, "CMCC-M30")
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["plan"] == "CMCC-M30"
    assert all(e["kind"] != "plan_change_requested" or e["detail"]["to"] == "CMCC-M30" for e in history_of(sim, iccid))


def test_plan3_refusal_during_maintenance_is_the_same_as_for_a_missing_card(sim, acct, other):
    iccid = open_active(sim, acct)
    sim.start_maintenance("cmcc", duration="2 hours")
    mine = refused(sim, "carrier_unavailable", sim.change_plan, acct, iccid, "CMCC-M1G")
    assert mine.status == 503
    theirs = refused(sim, "card_not_found", sim.change_plan, other, iccid, "CMCC-M1G")
    missing = refused(sim, "card_not_found", sim.change_plan, other, _ghost(sim), "CMCC-M1G")
    _same_refusal(theirs, iccid, missing, _ghost(sim))


def test_plan3_unknown_account_gets_card_not_found(sim, acct):
    iccid = open_active(sim, acct)
    refused(sim, "card_not_found", sim.change_plan, "acc-9999", iccid, "CMCC-M1G")


@pytest.mark.parametrize("operation,row", [("change_plan", "{iccid},CMCC-M1G"), ("withdraw_plan_change", "{iccid}")])
def test_plan3_batch_rows_of_another_account_read_as_missing_cards(sim, acct, other, operation, row):
    iccid = open_active(sim, acct)
    plan_change(sim, acct, iccid, "CMCC-M30")
    ghost = _ghost(sim)
    template = write_template(operation, "csv")
    data = template + (row.format(iccid=iccid) + "\r\n" + row.format(iccid=ghost) + "\r\n").encode()
    before = sim.digest()
    result = batch_of(sim, other, operation, data, f"{operation}.csv")
    assert sim.digest() == before
    assert result["succeeded"] == 0 and result["failed"] == 2
    theirs, missing = result["rows"]
    assert theirs["code"] == missing["code"] == "card_not_found"
    assert theirs["message"].replace(iccid, "<ICCID>") == missing["message"].replace(ghost, "<ICCID>")
    assert view(sim, iccid)["pending_change"]["plan"] == "CMCC-M30"
