"""Behaviour tests for cancellation (注销).

Rules: CAN-1 (refused, with every reason at once, while the card has arrears, is bound to a device or renews
automatically), CAN-2 (document check; review due after the carrier's working days, skipping weekends and Chinese
holidays from simulator/data/cn_calendar.yaml; a batch of 50+ within 1 working day — the batch side is in
test_batch.py), CAN-3 (high-risk cards: manual review, longer, may reject and return the card to its previous state),
CAN-4 (certificate, personal data wiped, balance refund or conversion within 7 days), CAN-5 (carrier cancellation of
long-unused cards: cmcc 12 months, cucc 6, ctcc never).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from conftest import (DOC, balance_of, cancel_request, cancellable, certificate_of, history_of, ledger_of, new_imei, open_active,
    refund, refused, use, view)

from carriersim.simulator import Simulation
from carriersim.simulator.identifiers import make_credit_code, make_resident_id

RID_X = make_resident_id(random.Random(4))  # a resident id whose check character is X
assert RID_X.endswith("X")
RID = make_resident_id(random.Random(7))


def in_arrears(sim: Simulation, account: str, carrier: str = "cmcc") -> str:
    """A card pushed below zero by overage (QUOTA-5, BILL-4), still bound and auto-renewing."""
    plan, price, quota = {"cmcc": ("CMCC-M30", "3", 30), "ctcc": ("CTCC-M20", "2", 20)}[carrier]
    imei = new_imei()
    iccid = open_active(sim, account, carrier, plan, payment=price, imei=imei, auto_suspend=False)
    use(sim, iccid, mb=quota + 1, imei=imei)
    assert view(sim, iccid)["reasons"] == ["arrears"]
    return iccid


def rebind(sim: Simulation, account: str, iccid: str, times: int) -> None:
    for _ in range(times):
        sim.rebind_device(account, iccid, new_imei())
    assert view(sim, iccid)["device_changes"] == times


# ---------------------------------------------------------------------------------------------------- CAN-1


def test_can1_refusal_lists_all_reasons_at_once(sim, acct):
    iccid = in_arrears(sim, acct)
    err = refused(sim, "cancellation_not_allowed", sim.request_cancellation, acct, iccid, DOC)
    assert err.detail["reasons"] == ["arrears", "device_bound", "auto_renew_on"]
    assert err.status == 409
    for words in ("arrears", "bound to a device", "auto-renewal"):
        assert words in err.message
    assert view(sim, iccid)["state"] == "suspended" and view(sim, iccid)["cancellation"] is None


@pytest.mark.parametrize("left", ["arrears", "device_bound", "auto_renew_on"])
def test_can1_each_reason_alone_refuses(sim, acct, left):
    iccid = in_arrears(sim, acct)
    if left != "arrears":
        sim.top_up(acct, iccid, "0.29")  # balance back to exactly 0.00: no arrears (cmcc resumes on payment)
    if left != "device_bound":
        sim.unbind_device(acct, iccid)
    if left != "auto_renew_on":
        sim.set_auto_renew(acct, iccid, False)
    err = refused(sim, "cancellation_not_allowed", sim.request_cancellation, acct, iccid, DOC)
    assert err.detail["reasons"] == [left]


def test_can1_all_cleared_is_accepted_at_zero_balance(sim, acct):
    iccid = in_arrears(sim, acct)
    sim.top_up(acct, iccid, "0.29")
    sim.unbind_device(acct, iccid)
    sim.set_auto_renew(acct, iccid, False)
    assert view(sim, iccid)["balance"] == "0.00"
    out = cancel_request(sim, acct, iccid, DOC)
    assert out["review"] == "standard"
    assert view(sim, iccid)["state"] == "pending_cancel"


def test_can1_ctcc_paid_arrears_still_refused_until_reactivated(sim, acct):
    iccid = in_arrears(sim, acct, "ctcc")
    sim.unbind_device(acct, iccid)
    sim.set_auto_renew(acct, iccid, False)
    sim.top_up(acct, iccid, "0.25")  # balance 0.00, but ctcc needs a re-activation request (BILL-5)
    assert view(sim, iccid)["reasons"] == ["arrears"]
    err = refused(sim, "cancellation_not_allowed", sim.request_cancellation, acct, iccid, DOC)
    assert err.detail["reasons"] == ["arrears"]
    sim.reactivate(acct, iccid)
    assert cancel_request(sim, acct, iccid, DOC)["review"] == "standard"


def test_can1_precondition_refusal_comes_before_document_check(sim, acct):
    iccid = open_active(sim, acct)
    err = refused(sim, "cancellation_not_allowed", sim.request_cancellation, acct, iccid, "not a licence")
    assert err.detail["reasons"] == ["device_bound", "auto_renew_on"]


def test_can1_already_pending_or_cancelled_refused(sim, acct):
    iccid = cancellable(sim, acct)
    cancel_request(sim, acct, iccid, DOC)
    refused(sim, "cancellation_pending", sim.request_cancellation, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    refused(sim, "card_cancelled", sim.request_cancellation, acct, iccid, DOC)


def test_can1_another_accounts_card_not_found(sim, acct, other):
    iccid = cancellable(sim, acct)
    err = refused(sim, "card_not_found", sim.request_cancellation, other, iccid, DOC)
    assert err.status == 404


def test_can1_ready_card_can_be_cancelled(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", auto_renew=False)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"


# ---------------------------------------------------------------------------------------------------- CAN-2 documents


@pytest.mark.parametrize("document", ["", "not a licence", RID, DOC[:-1] + "0", 91350100])
def test_can2_enterprise_needs_a_valid_credit_code(sim, acct, document):
    iccid = cancellable(sim, acct)
    err = refused(sim, "invalid_document", sim.request_cancellation, acct, iccid, document)
    assert err.status == 422 and "business licence" in err.message


def test_can2_enterprise_credit_code_must_be_the_accounts(sim, acct):
    iccid = cancellable(sim, acct)
    err = refused(sim, "document_mismatch", sim.request_cancellation, acct, iccid, make_credit_code(random.Random(5)))
    assert err.status == 422
    assert cancel_request(sim, acct, iccid, DOC)["iccid"] == iccid


def test_can2_enterprise_without_registered_code_accepts_any_valid_one(sim, other):
    iccid = cancellable(sim, other)
    assert cancel_request(sim, other, iccid, make_credit_code(random.Random(5)))["review"] == "standard"


def test_can2_personal_card_needs_its_verified_holders_resident_id(sim):
    person = sim.create_account("赵六", kind="personal", verified=True, id_number=RID_X)
    iccid = cancellable(sim, person)
    err = refused(sim, "invalid_document", sim.request_cancellation, person, iccid, DOC)
    assert "resident identity number" in err.message
    refused(sim, "document_mismatch", sim.request_cancellation, person, iccid, RID)
    # the check character X typed in lower case is the same number
    assert cancel_request(sim, person, iccid, RID_X[:-1] + "x")["review"] == "standard"


def test_can2_unverified_personal_card_refused_until_holder_verified(sim):
    person = sim.create_account("孙七", kind="personal")
    iccid = cancellable(sim, person)
    assert view(sim, iccid)["verified"] is False
    refused(sim, "identity_not_verified", sim.request_cancellation, person, iccid, RID)
    sim.verify_identity(person, iccid, "孙七", RID_X)
    refused(sim, "document_mismatch", sim.request_cancellation, person, iccid, RID)
    assert cancel_request(sim, person, iccid, RID_X)["review"] == "standard"


# ---------------------------------------------------------------------------------------------------- CAN-2 review time


@pytest.mark.parametrize(("carrier", "due"), [
    ("cmcc", "2027-01-06T00:00:00+08:00"),  # 3 working days: Fri 01-01 holiday, weekend skipped: Mon, Tue, Wed
    ("cucc", "2027-01-05T00:00:00+08:00"),  # 2
    ("ctcc", "2027-01-04T00:00:00+08:00"),  # 1
])
def test_can2_review_due_skips_new_year_holiday_and_weekend(sim, acct, carrier, due):
    iccid = cancellable(sim, acct, carrier)
    out = cancel_request(sim, acct, iccid, DOC)
    assert out == {"iccid": iccid, "review": "standard", "due": due}
    shown = view(sim, iccid)
    assert shown["state"] == "pending_cancel"
    assert shown["cancellation"] == {"status": "under_review", "review": "standard", "due": due}
    requested = [e for e in history_of(sim, iccid) if e["kind"] == "cancellation_requested"][0]
    assert requested["detail"]["due"] == due and requested["detail"]["batch_size"] == 1
    just_before = datetime.fromisoformat(due) - timedelta(seconds=1)
    sim.advance(to=just_before)
    assert view(sim, iccid)["state"] == "pending_cancel"
    sim.advance(to=due)
    assert view(sim, iccid)["state"] == "cancelled"
    assert view(sim, iccid)["cancellation"]["at"] == due


def test_can2_review_due_skips_spring_festival(sim, acct):
    sim.advance(to="2027-02-04T09:30:00")  # Thursday; 02-05..02-10 are the Spring Festival holiday
    iccid = cancellable(sim, acct)
    assert cancel_request(sim, acct, iccid, DOC)["due"] == "2027-02-15T09:30:00+08:00"  # Thu, Fri, Mon


def test_can2_review_keeps_the_time_of_day(sim, acct):
    sim.advance(to="2027-01-04T15:30:00")  # Monday
    iccid = cancellable(sim, acct)
    assert cancel_request(sim, acct, iccid, DOC)["due"] == "2027-01-07T15:30:00+08:00"
    sim.advance(to="2027-01-07T15:29:59")
    assert view(sim, iccid)["state"] == "pending_cancel"
    sim.advance(to="2027-01-07T15:30:00")
    assert view(sim, iccid)["state"] == "cancelled"


def test_can2_request_on_a_weekend_counts_from_monday(sim, acct):
    sim.advance(to="2027-01-09T11:00:00")  # Saturday
    iccid = cancellable(sim, acct, "ctcc")
    assert cancel_request(sim, acct, iccid, DOC)["due"] == "2027-01-11T11:00:00+08:00"


@pytest.mark.parametrize(("carrier", "due"), [
    ("ctcc", "2026-02-14T10:00:00+08:00"),  # Saturday 02-14 is an official make-up working day (调休)
    ("cmcc", "2026-02-25T10:00:00+08:00"),  # 02-14, then the 02-15..02-23 holiday, 02-24, 02-25
])
def test_can2_make_up_working_weekend_counts(carrier, due):
    sim = Simulation(seed=1, start="2026-02-13T10:00:00+08:00")  # Friday
    account = sim.create_account("Co", kind="enterprise", verified=True, id_number=DOC)
    iccid = cancellable(sim, account, carrier)
    assert cancel_request(sim, account, iccid, DOC)["due"] == due


def test_can2_card_under_review_carries_no_traffic(sim, acct):
    iccid = cancellable(sim, acct)
    cancel_request(sim, acct, iccid, DOC)
    result = use(sim, iccid, mb=1)
    assert (result.accepted_kb, result.refused_because, result.state) == (0, "not_in_service", "pending_cancel")


# ---------------------------------------------------------------------------------------------------- CAN-3


def test_can3_two_device_changes_is_standard_review(sim, acct):
    iccid = open_active(sim, acct)
    rebind(sim, acct, iccid, 2)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    assert cancel_request(sim, acct, iccid, DOC)["review"] == "standard"


def test_can3_three_device_changes_goes_to_longer_manual_review(sim, acct):
    iccid = open_active(sim, acct)
    rebind(sim, acct, iccid, 3)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    out = cancel_request(sim, acct, iccid, DOC)
    # 10 working days from Fri 2027-01-01 (holiday): 01-04..01-08, 01-11..01-15
    assert out == {"iccid": iccid, "review": "manual", "due": "2027-01-15T00:00:00+08:00"}
    assert view(sim, iccid)["cancellation"]["review"] == "manual"
    sim.advance(to="2027-01-14T23:59:59")
    assert view(sim, iccid)["state"] == "pending_cancel"
    sim.advance(to="2027-01-15T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert certificate_of(sim, acct, iccid)["cancelled_at"] == "2027-01-15T00:00:00+08:00"


def test_can3_five_device_changes_is_manual_but_approved(sim, acct):
    iccid = open_active(sim, acct)
    rebind(sim, acct, iccid, 5)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    assert cancel_request(sim, acct, iccid, DOC)["review"] == "manual"
    sim.advance(to="2027-01-15T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"


def test_can3_six_device_changes_rejected_back_to_active(sim, acct):
    iccid = open_active(sim, acct, payment="20")
    rebind(sim, acct, iccid, 6)
    sim.unbind_device(acct, iccid)
    sim.set_auto_renew(acct, iccid, False)
    assert cancel_request(sim, acct, iccid, DOC)["review"] == "manual"
    sim.advance(to="2027-01-15T00:00:00")
    shown = view(sim, iccid)
    assert shown["state"] == "active" and shown["reasons"] == [] and shown["cancellation"] is None
    assert shown["balance"] == "15.00"
    rejected = [e for e in history_of(sim, iccid) if e["kind"] == "cancellation_rejected"]
    assert len(rejected) == 1
    assert (rejected[0]["time"], rejected[0]["cause"]) == ("2027-01-15T00:00:00+08:00", "clock")
    last = history_of(sim, iccid)[-1]
    assert (last["kind"], last["old_state"], last["new_state"], last["cause"]) == (
        "state_changed", "pending_cancel", "active", "clock")
    refused(sim, "certificate_not_found", sim.certificate, acct, iccid)
    # back in service: it carries traffic again
    imei = new_imei()
    assert use(sim, iccid, mb=1, imei=imei).accepted_kb == 1024


def test_can3_rejected_card_returns_to_its_previous_suspended_state(sim, acct):
    iccid = open_active(sim, acct)
    rebind(sim, acct, iccid, 6)
    sim.suspend(acct, iccid)
    sim.unbind_device(acct, iccid)
    sim.set_auto_renew(acct, iccid, False)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-15T00:00:00")
    assert view(sim, iccid)["state"] == "suspended" and view(sim, iccid)["reasons"] == ["manual"]
    sim.resume(acct, iccid)
    assert view(sim, iccid)["state"] == "active"


def test_can3_restricted_region_goes_to_manual_review(sim, acct):
    iccid = cancellable(sim, acct)
    use(sim, iccid, kb=1, region="CN-GX")
    assert view(sim, iccid)["reasons"] == ["region"]
    assert cancel_request(sim, acct, iccid, DOC)["review"] == "manual"
    sim.advance(to="2027-01-15T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"  # no device changes: approved


@pytest.mark.parametrize(("changes", "review", "outcome"), [
    (1, "standard", "cancelled"),
    (2, "manual", "cancelled"),
    (3, "manual", "cancelled"),
    (4, "manual", "active"),
])
def test_can3_ctcc_thresholds_from_profile(sim, acct, changes, review, outcome):
    iccid = open_active(sim, acct, "ctcc", "CTCC-M20")
    rebind(sim, acct, iccid, changes)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    out = cancel_request(sim, acct, iccid, DOC)
    assert out["review"] == review
    # ctcc: 1 working day standard, 5 manual (01-04..01-08)
    assert out["due"] == ("2027-01-04T00:00:00+08:00" if review == "standard" else "2027-01-08T00:00:00+08:00")
    sim.advance(to="2027-01-08T00:00:00")
    assert view(sim, iccid)["state"] == outcome


def test_can3_rejected_card_is_watched_again_by_can5(sim, acct):
    """A card skipped by CAN-5 while under review is checked again once a rejection puts it back in service."""
    iccid = open_active(sim, acct, "cmcc", "CMCC-A500", payment="300")  # never used; 12 months on 2028-01-01
    rebind(sim, acct, iccid, 6)
    sim.unbind_device(acct, iccid)
    sim.set_auto_renew(acct, iccid, False)
    sim.advance(to="2027-12-24T00:00:00")  # Friday
    # 10 working days: 12-27..12-31, (01-01 Sat, 01-03 substitute holiday) 01-04..01-07, 01-10
    assert cancel_request(sim, acct, iccid, DOC)["due"] == "2028-01-10T00:00:00+08:00"
    sim.advance(to="2028-01-09T00:00:00")
    assert view(sim, iccid)["state"] == "pending_cancel"  # the unused check at 2028-01-01 skipped it
    sim.advance(to="2028-01-10T00:00:00")
    shown = view(sim, iccid)
    assert shown["state"] == "cancelled"
    assert shown["cancellation"] == {"status": "done", "cause": "unused", "at": "2028-01-10T00:00:00+08:00",
                                    "certificate": None}
    kinds = [e["kind"] for e in history_of(sim, iccid) if e["time"] == "2028-01-10T00:00:00+08:00"]
    assert kinds[0] == "cancellation_rejected" and kinds[-1] == "data_wiped"


# ---------------------------------------------------------------------------------------------------- CAN-4


def test_can4_certificate_issued_and_data_wiped(sim, acct):
    iccid = cancellable(sim, acct, payment="50")
    msisdn = view(sim, iccid)["msisdn"]
    cancel_request(sim, acct, iccid, DOC)
    refused(sim, "certificate_not_found", sim.certificate, acct, iccid)  # not yet: under review
    sim.advance(to="2027-01-06T00:00:00")
    cert = certificate_of(sim, acct, iccid)
    assert cert["number"].startswith("CERT-CMCC-")
    assert {k: v for k, v in cert.items() if k != "number"} == {
        "iccid": iccid, "msisdn": msisdn, "carrier": "cmcc", "account": acct,
        "cancelled_at": "2027-01-06T00:00:00+08:00"}
    shown = view(sim, iccid)
    assert shown["cancellation"] == {"status": "done", "cause": "requested", "at": "2027-01-06T00:00:00+08:00",
                                    "certificate": cert["number"]}
    assert shown["imei"] is None
    tail = [(e["kind"], e["time"], e["cause"]) for e in history_of(sim, iccid)][-3:]
    assert tail == [("state_changed", "2027-01-06T00:00:00+08:00", "clock"),
                    ("certificate_issued", "2027-01-06T00:00:00+08:00", "clock"),
                    ("data_wiped", "2027-01-06T00:00:00+08:00", "clock")]
    assert history_of(sim, iccid)[-2]["detail"]["number"] == cert["number"]
    # the certificate can be downloaded again, and reading it changes nothing
    before = sim.digest()
    assert certificate_of(sim, acct, iccid) == cert
    assert sim.digest() == before


def test_can4_certificate_only_for_the_owner(sim, acct, other):
    iccid = cancellable(sim, acct)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    refused(sim, "card_not_found", sim.certificate, other, iccid)


def test_can4_no_certificate_for_a_card_never_asked_to_cancel(sim, acct):
    iccid = open_active(sim, acct)
    refused(sim, "certificate_not_found", sim.certificate, acct, iccid)
    sim.swap(acct, iccid)  # cancelled by the swap, not by a request
    refused(sim, "certificate_not_found", sim.certificate, acct, iccid)


def test_can4_balance_refund_on_day_7(sim, acct):
    iccid = cancellable(sim, acct, payment="50")
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    assert view(sim, iccid)["balance"] == "45.00"
    assert balance_of(sim, acct) == "0.00"  # a cancelled card's money is no longer the account's to spend
    sim.advance(to="2027-01-13T00:00:00")  # exactly 7 days after the cancellation
    assert refund(sim, acct, iccid, "balance") == "45.00"
    assert view(sim, iccid)["balance"] == "0.00"
    row = ledger_of(sim, iccid)[-1]
    assert (row["kind"], row["item"], row["amount"], row["balance"]) == ("payout", "balance_refund", "-45.00",
                                                                        "0.00")
    refused(sim, "nothing_to_refund", sim.request_refund, acct, iccid, "balance")


@pytest.mark.parametrize("when", ["2027-01-13T00:00:01", "2027-01-14T00:00:00"])
def test_can4_balance_refund_window_closed_after_day_7(sim, acct, when):
    iccid = cancellable(sim, acct, payment="50")
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to=when)
    refused(sim, "refund_window_closed", sim.request_refund, acct, iccid, "balance")
    assert view(sim, iccid)["balance"] == "45.00"


def test_can4_balance_converted_to_another_card_of_the_account(sim, acct, other):
    iccid = cancellable(sim, acct, payment="50")
    keep = open_active(sim, acct, payment="10")
    foreign = open_active(sim, other)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    refused(sim, "card_not_found", sim.request_refund, acct, iccid, "balance", to_iccid=foreign)
    refused(sim, "invalid_target", sim.request_refund, acct, iccid, "balance", to_iccid=iccid)
    assert refund(sim, acct, iccid, "balance", to_iccid=keep) == "45.00"
    assert view(sim, keep)["balance"] == "50.00" and view(sim, iccid)["balance"] == "0.00"
    assert ledger_of(sim, keep)[-1]["kind"] == "transfer_in"


def test_can4_balance_refund_needs_a_cancelled_card(sim, acct):
    iccid = cancellable(sim, acct)
    refused(sim, "invalid_state", sim.request_refund, acct, iccid, "balance")
    cancel_request(sim, acct, iccid, DOC)
    refused(sim, "invalid_state", sim.request_refund, acct, iccid, "balance")


def test_can4_unknown_refund_kind_refused(sim, acct):
    iccid = cancellable(sim, acct)
    refused(sim, "invalid_input", sim.request_refund, acct, iccid, "everything")


# ---------------------------------------------------------------------------------------------------- CAN-5


def test_can5_cmcc_unused_for_12_months_cancelled(sim, acct):
    iccid = open_active(sim, acct)  # activated 2027-01-01T00:00, never used
    sim.advance(to="2027-12-31T00:00:00")  # the day before the limit
    assert view(sim, iccid)["state"] == "active"
    sim.advance(to="2027-12-31T23:59:59")
    assert view(sim, iccid)["state"] == "active"
    sim.advance(to="2028-01-01T00:00:00")  # 12 months
    shown = view(sim, iccid)
    assert shown["state"] == "cancelled"
    assert shown["cancellation"] == {"status": "done", "cause": "unused", "at": "2028-01-01T00:00:00+08:00",
                                    "certificate": None}
    last_change = [e for e in history_of(sim, iccid) if e["kind"] == "state_changed"][-1]
    assert (last_change["old_state"], last_change["new_state"], last_change["cause"],
            last_change["detail"]["why"]) == ("active", "cancelled", "clock", "unused")
    sim.advance(to="2028-01-02T00:00:00")  # the day after
    assert view(sim, iccid)["state"] == "cancelled"


def test_can5_usage_postpones_cancellation(sim, acct):
    imei = new_imei()
    iccid = open_active(sim, acct, payment="200", imei=imei)
    sim.advance(to="2027-06-15T12:00:00")
    assert use(sim, iccid, kb=1, imei=imei).accepted_kb == 1
    sim.advance(to="2028-01-02T00:00:00")
    assert view(sim, iccid)["state"] == "active"  # used 6.5 months ago
    sim.advance(to="2028-06-15T11:59:59")
    assert view(sim, iccid)["state"] == "active"
    sim.advance(to="2028-06-15T12:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert view(sim, iccid)["cancellation"]["cause"] == "unused"


def test_can5_refused_traffic_is_not_use(sim, acct):
    iccid = open_active(sim, acct, payment="100")
    sim.suspend(acct, iccid)
    sim.advance(to="2027-06-01T00:00:00")
    assert use(sim, iccid, mb=1).accepted_kb == 0
    sim.advance(to="2028-01-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"


def test_can5_sold_but_never_activated_counts_from_the_sale(sim, acct):
    sim.advance(to="2027-03-10T10:00:00")
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100")
    sim.advance(to="2028-03-10T09:59:59")
    assert view(sim, iccid)["state"] == "ready"
    sim.advance(to="2028-03-10T10:00:00")
    assert view(sim, iccid)["state"] == "cancelled"


def test_can5_stock_cards_are_never_cancelled(sim):
    [stock] = sim.add_inventory("cmcc", 1)
    sim.advance(to="2029-01-01T00:00:00")
    assert view(sim, stock)["state"] == "inventory"


def test_can5_cucc_unused_for_6_months(sim, acct):
    iccid = open_active(sim, acct, "cucc", "CUCC-M50", payment="100")
    sim.advance(to="2027-06-30T00:00:00")
    assert view(sim, iccid)["state"] == "active"
    sim.advance(to="2027-07-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert view(sim, iccid)["cancellation"]["cause"] == "unused"


def test_can5_ctcc_never_cancels_unused_cards(sim, acct):
    iccid = open_active(sim, acct, "ctcc", "CTCC-A200", payment="300")
    sim.advance(to="2030-01-02T00:00:00")
    shown = view(sim, iccid)
    assert shown["state"] == "active" and shown["last_used_at"] is None
    assert shown["balance"] == "60.00"  # 2028, 2029 and 2030 renewed automatically


def test_can5_card_cancelled_at_a_cycle_start_is_not_charged_for_that_month(sim, acct):
    iccid = open_active(sim, acct)  # M100 at 5.00: 95.00 left, 11 renewals up to 2027-12-01
    sim.advance(to="2028-01-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert view(sim, iccid)["balance"] == "40.00"


def test_can2_cancellation_due_at_a_cycle_start_charges_no_retention_fee(sim, acct):
    sim.advance(to="2027-01-29T00:00:00")  # Friday; ctcc reviews in 1 working day: Mon 2027-02-01 00:00
    iccid = cancellable(sim, acct, "ctcc", payment="10")
    assert cancel_request(sim, acct, iccid, DOC)["due"] == "2027-02-01T00:00:00+08:00"
    sim.advance(to="2027-02-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"
    assert view(sim, iccid)["balance"] == "8.00"


def test_can2_card_under_review_pays_no_retention_fee(sim, acct):
    sim.advance(to="2027-01-29T00:00:00")  # Friday; cmcc reviews in 3 working days: Wed 2027-02-03
    iccid = cancellable(sim, acct, payment="5")  # balance 0.00
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-02-03T00:00:00")
    shown = view(sim, iccid)
    assert shown["state"] == "cancelled"
    assert shown["balance"] == "0.00" and "arrears" not in shown["reasons"]
