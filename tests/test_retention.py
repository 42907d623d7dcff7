"""Expiry and number retention (过期停机 / 停机保号): EXP-1, EXP-2, RET-1, RET-2, RET-3.

Also the stacking of ``expired`` with ``arrears`` (LIFE-3, BILL-4, BILL-5) that the retention fee can cause.
Times are Asia/Shanghai; the ``sim`` fixture starts at 2027-01-01T00:00+08:00 and every carrier's cycle starts on
the 1st at local midnight.
"""

from __future__ import annotations

import pytest

from conftest import history_of, ledger_of, open_active, refused, t, use, view


def retention_fees(sim, iccid):
    return [row for row in ledger_of(sim, iccid) if row["item"] == "retention_fee"]


def events(sim, iccid, kind):
    return [e for e in history_of(sim, iccid) if e["kind"] == kind]


# ---------------------------------------------------------------------------------------------------- EXP-1


def test_exp1_monthly_card_without_auto_renew_expires_at_next_cycle_into_retained(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    card = view(sim, c)
    assert card["term_start"] == t("2027-01-01") and card["term_end"] == t("2027-02-01")
    assert card["balance"] == "95.00"

    sim.advance(to=t("2027-01-31", "23:59:59"))  # the last second of the term
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("active", [], "95.00")
    assert card["retention_until"] is None and card["expired_at"] is None

    sim.advance(to=t("2027-02-01"))
    card = view(sim, c)
    assert card["state"] == "retained"
    assert card["reasons"] == ["expired"]
    assert card["expired_at"] == t("2027-02-01")
    assert card["retention_until"] == t("2027-05-01")
    assert card["balance"] == "90.00"  # RET-1: the first month's retention fee, charged at expiry

    (expired,) = events(sim, c, "expired")
    assert expired["time"] == t("2027-02-01") and expired["cause"] == "clock"
    assert expired["detail"]["why"] == "auto_renew_off"
    change = events(sim, c, "state_changed")[-1]
    assert (change["old_state"], change["new_state"], change["reasons"], change["change"], change["cause"]) == \
        ("active", "retained", ["expired"], "added", "clock")
    assert change["time"] == t("2027-02-01")

    usage = use(sim, c, mb=1)
    assert (usage.accepted_kb, usage.refused_because, usage.state) == (0, "suspended", "retained")


def test_exp1_auto_renew_renews_when_balance_equals_price_and_expires_when_short(sim, acct):
    # payment 10.00 for a 5.00 plan: 5.00 left, exactly one renewal's worth
    c = open_active(sim, acct, "cmcc", "CMCC-M100", payment="10")
    assert view(sim, c)["balance"] == "5.00"

    sim.advance(to=t("2027-02-01"))
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("active", [], "0.00")
    assert card["term_start"] == t("2027-02-01") and card["term_end"] == t("2027-03-01")
    renewed = events(sim, c, "renewed")
    assert [(e["time"], e["cause"]) for e in renewed] == [(t("2027-02-01"), "clock")]
    assert not events(sim, c, "expired")

    sim.advance(to=t("2027-03-01"))  # 0.00 < 5.00: auto-renewal cannot pay, the card expires
    card = view(sim, c)
    assert card["state"] == "retained"
    assert card["reasons"] == ["arrears", "expired"]  # the retention fee took the balance below zero
    assert card["balance"] == "-5.00"
    (expired,) = events(sim, c, "expired")
    assert expired["time"] == t("2027-03-01") and expired["detail"]["why"] == "insufficient_balance"
    assert len(events(sim, c, "renewed")) == 1


def test_exp1_quarterly_term_opened_mid_month_expires_after_three_natural_months(sim, acct):
    sim.advance(to=t("2027-01-15", "12:00:00"))
    c = open_active(sim, acct, "cmcc", "CMCC-Q300", auto_renew=False)
    assert view(sim, c)["term_end"] == t("2027-04-01")  # January (partial), February, March

    sim.advance(to=t("2027-03-31", "23:59:59"))
    assert view(sim, c)["state"] == "active"
    assert not retention_fees(sim, c)

    sim.advance(to=t("2027-04-01"))
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["expired_at"]) == ("retained", ["expired"], t("2027-04-01"))
    assert card["retention_until"] == t("2027-07-01")
    assert card["balance"] == "71.00"  # 100 - 24 - 5


def test_exp1_prepaid_term_is_used_before_the_card_expires(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    assert sim.renew(acct, c) == "prepaid"
    card = view(sim, c)
    assert (card["state"], card["balance"], card["prepaid_terms"]) == ("active", "90.00", 1)
    assert card["term_end"] == t("2027-02-01")  # the paid term starts only when the current one ends

    sim.advance(to=t("2027-02-01"))
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["prepaid_terms"]) == ("active", [], 0)
    assert card["term_start"] == t("2027-02-01") and card["term_end"] == t("2027-03-01")
    assert card["balance"] == "90.00"  # nothing charged at the renewal: it was prepaid
    assert not events(sim, c, "expired")

    sim.advance(to=t("2027-03-01"))  # no prepaid term left, auto-renew off
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("retained", ["expired"], "85.00")


# ---------------------------------------------------------------------------------------------------- EXP-2


def test_exp2_renew_in_retention_restores_the_card_the_same_day(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-02-15", "10:30:00"))
    assert view(sim, c)["state"] == "retained"

    assert sim.renew(acct, c) == "restored"
    assert sim.iso(sim.now) == t("2027-02-15", "10:30:00")  # no time passes
    card = view(sim, c)
    assert (card["state"], card["reasons"]) == ("active", [])
    assert card["term_start"] == t("2027-02-15", "10:30:00") and card["term_end"] == t("2027-03-01")
    assert card["retention_until"] is None and card["expired_at"] is None
    assert card["balance"] == "85.00"  # 100 - 5 (plan) - 5 (February retention fee) - 5 (renewal)

    renewed = events(sim, c, "renewed")[-1]
    assert (renewed["time"], renewed["cause"]) == (t("2027-02-15", "10:30:00"), "api")
    change = events(sim, c, "state_changed")[-1]
    assert (change["old_state"], change["new_state"], change["reasons"], change["change"], change["cause"]) == \
        ("retained", "active", ["expired"], "removed", "api")
    assert ledger_of(sim, c)[-1]["amount"] == "-5.00" and ledger_of(sim, c)[-1]["item"] == "CMCC-M100"

    usage = use(sim, c, mb=1)
    assert (usage.accepted_kb, usage.refused_because) == (1024, None)


def test_exp2_restored_card_pays_no_more_retention_fees(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-02-15"))
    sim.renew(acct, c)
    sim.set_auto_renew(acct, c, True)

    sim.advance(to=t("2027-06-01"))
    card = view(sim, c)
    assert (card["state"], card["reasons"]) == ("active", [])
    assert [row["time"] for row in retention_fees(sim, c)] == [t("2027-02-01")]
    # one plan charge per month from March on, no retention fee among them
    assert [(r["time"], r["item"]) for r in ledger_of(sim, c)[-4:]] == [
        (t(f"2027-0{m}-01"), "CMCC-M100") for m in (3, 4, 5, 6)]
    assert card["balance"] == "65.00"  # 100 - 5 - 5 (fee) - 5 (renew) - 4 * 5


def test_exp2_renew_refused_while_the_balance_does_not_cover_the_plan(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", payment="5", auto_renew=False)
    sim.advance(to=t("2027-02-10"))
    assert view(sim, c)["balance"] == "-5.00"

    before = sim.digest()
    err = refused(sim, "insufficient_balance", sim.renew, acct, c)
    assert err.status == 402
    assert sim.digest() == before

    sim.top_up(acct, c, "9.99")  # balance 4.99: one fen short of the price
    assert view(sim, c)["reasons"] == ["expired"]  # cmcc resumes arrears on payment (BILL-5)
    before = sim.digest()
    refused(sim, "insufficient_balance", sim.renew, acct, c)
    assert sim.digest() == before

    sim.top_up(acct, c, "0.01")
    assert sim.renew(acct, c) == "restored"
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("active", [], "0.00")


def test_exp2_renew_of_another_accounts_card_is_not_found_and_changes_nothing(sim, acct, other):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-02-02"))
    before = sim.digest()
    err = refused(sim, "card_not_found", sim.renew, other, c)
    assert err.status == 404
    assert sim.digest() == before
    assert view(sim, c)["state"] == "retained"


def test_exp2_renew_of_a_card_never_activated_is_refused(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100", payment="100")
    before = sim.digest()
    refused(sim, "invalid_state", sim.renew, acct, c)
    assert sim.digest() == before


def test_exp2_term_quota_card_that_expired_over_quota_is_restored_at_once(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-Q3G", auto_renew=False)  # 3 GB for the whole quarter
    use(sim, c, mb=3072)
    sim.advance(to=t("2027-04-10"))
    assert view(sim, c)["reasons"] == ["quota", "expired"]  # the old term's quota is spent; no new term started

    assert sim.renew(acct, c) == "restored"
    card = view(sim, c)
    assert (card["state"], card["reasons"]) == ("active", [])  # the new term brings a fresh quota
    assert card["usage"]["quota_used_mb"] == 0.0 and card["term_end"] == t("2027-07-01")
    change = events(sim, c, "state_changed")[-1]
    assert (change["old_state"], change["new_state"], change["reasons"], change["change"]) == \
        ("retained", "active", ["quota", "expired"], "removed")
    assert use(sim, c, mb=1).accepted_kb == 1024


def test_exp2_pool_member_restored_while_the_pool_is_exhausted_stays_over_quota(sim, acct):
    a = open_active(sim, acct, auto_renew=False)
    b = open_active(sim, acct)
    pool = sim.create_pool(acct, "cmcc", "fleet")
    sim.add_to_pool(acct, pool, a)
    sim.add_to_pool(acct, pool, b)
    sim.advance(to=t("2027-02-03"))
    assert view(sim, a)["state"] == "retained"
    use(sim, b, mb=200)  # the whole pool
    assert view(sim, a)["reasons"] == ["quota", "expired"]

    sim.set_auto_renew(acct, a, True)
    assert sim.renew(acct, a) == "restored"
    assert (view(sim, a)["state"], view(sim, a)["reasons"]) == ("suspended", ["quota"])  # the pool is still empty
    sim.advance(to=t("2027-03-01"))
    assert (view(sim, a)["state"], view(sim, a)["reasons"]) == ("active", [])


# ---------------------------------------------------------------------------------------------------- RET-1


@pytest.mark.parametrize("carrier, plan, price, months, fee", [
    ("cmcc", "CMCC-M100", "5.00", 3, "5.00"),
    ("cucc", "CUCC-M50", "4.00", 3, "3.00"),
    ("ctcc", "CTCC-M20", "2.00", 6, "5.00"),
])
def test_ret1_one_retention_fee_per_month_of_retention_then_none(sim, acct, carrier, plan, price, months, fee):
    c = open_active(sim, acct, carrier, plan, auto_renew=False)
    sim.advance(to=t("2028-03-01"))

    fees = retention_fees(sim, c)
    assert [row["time"] for row in fees] == [t(f"2027-{m:02d}-01") for m in range(2, 2 + months)]
    assert all(row["amount"] == f"-{fee}" and row["kind"] == "charge" for row in fees)
    card = view(sim, c)
    assert card["state"] == "cancelled"
    assert card["cancellation"]["at"] == t(f"2027-{2 + months:02d}-01")
    expected = 10000 - int(price.replace(".", "")) - months * int(fee.replace(".", ""))
    assert card["balance"] == f"{expected // 100}.{expected % 100:02d}"


def test_ret1_cmcc_retention_costs_exactly_three_fees_of_5(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-04-30"))
    assert [r["amount"] for r in retention_fees(sim, c)] == ["-5.00"] * 3
    assert view(sim, c)["balance"] == "80.00"
    sim.advance(to=t("2027-12-31"))
    assert [r["amount"] for r in retention_fees(sim, c)] == ["-5.00"] * 3
    assert view(sim, c)["balance"] == "80.00"


def test_ret1_retention_fee_drives_arrears_stacked_with_expired(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", payment="5", auto_renew=False)
    assert view(sim, c)["balance"] == "0.00"

    sim.advance(to=t("2027-02-01"))
    card = view(sim, c)
    assert card["state"] == "retained"
    assert card["reasons"] == ["arrears", "expired"]
    assert card["balance"] == "-5.00"
    changes = [(e["old_state"], e["new_state"], e["reasons"], e["change"], e["cause"])
               for e in events(sim, c, "state_changed") if e["time"] == t("2027-02-01")]
    assert changes == [("active", "retained", ["expired"], "added", "clock"),
                       ("retained", "retained", ["arrears"], "added", "clock")]

    sim.advance(to=t("2027-04-01"))  # fees keep being charged into arrears
    assert view(sim, c)["balance"] == "-15.00"
    assert view(sim, c)["reasons"] == ["arrears", "expired"]

    sim.advance(to=t("2027-05-01"))  # RET-2 still applies to a card in arrears
    card = view(sim, c)
    assert card["state"] == "cancelled" and card["balance"] == "-15.00"
    assert len(retention_fees(sim, c)) == 3


def test_ret1_paying_the_arrears_leaves_the_card_retained_until_renewed(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", payment="5", auto_renew=False)
    sim.advance(to=t("2027-02-05"))
    sim.top_up(acct, c, "10")
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("retained", ["expired"], "5.00")  # LIFE-3
    assert sim.renew(acct, c) == "restored"
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("active", [], "0.00")


def test_ret1_ctcc_card_renewed_in_arrears_stays_suspended_until_reactivated(sim, acct):
    c = open_active(sim, acct, "ctcc", "CTCC-M20", payment="2", auto_renew=False)
    sim.advance(to=t("2027-02-05"))
    assert view(sim, c)["reasons"] == ["arrears", "expired"] and view(sim, c)["balance"] == "-5.00"

    sim.top_up(acct, c, "10")
    assert view(sim, c)["reasons"] == ["arrears", "expired"]  # ctcc: no automatic resume (BILL-5)
    assert sim.renew(acct, c) == "restored"
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["balance"]) == ("suspended", ["arrears"], "3.00")
    sim.reactivate(acct, c)
    assert (view(sim, c)["state"], view(sim, c)["reasons"]) == ("active", [])


# ---------------------------------------------------------------------------------------------------- RET-2


@pytest.mark.parametrize("carrier, plan, limit, day_before", [
    ("cmcc", "CMCC-M100", "2027-05-01", "2027-04-30"),
    ("cucc", "CUCC-M50", "2027-05-01", "2027-04-30"),
    ("ctcc", "CTCC-M20", "2027-08-01", "2027-07-31"),
])
def test_ret2_renewable_the_day_before_the_retention_limit(sim, acct, carrier, plan, limit, day_before):
    c = open_active(sim, acct, carrier, plan, auto_renew=False)
    sim.advance(to=t(day_before))
    card = view(sim, c)
    assert (card["state"], card["retention_until"]) == ("retained", t(limit))

    assert sim.renew(acct, c) == "restored"  # EXP-2: the same day
    card = view(sim, c)
    assert (card["state"], card["reasons"]) == ("active", [])
    assert card["term_end"] == t(limit)  # the renewed month is the current, partial one

    # The old limit passes without cancelling: with auto-renew still off the new term simply expires again,
    # with a fresh retention window.
    sim.advance(to=t(limit))
    card = view(sim, c)
    assert card["state"] == "retained" and card["cancellation"] is None
    assert card["expired_at"] == t(limit)
    assert len(events(sim, c, "expired")) == 2


def test_ret2_last_second_before_the_limit_still_retained_cancelled_at_the_limit(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-04-30", "23:59:59"))
    assert view(sim, c)["state"] == "retained"

    sim.advance(to=t("2027-05-01"))
    card = view(sim, c)
    assert card["state"] == "cancelled"
    assert card["cancellation"] == {"status": "done", "cause": "retention_expired", "at": t("2027-05-01"),
                                    "certificate": None}
    change = events(sim, c, "state_changed")[-1]
    assert (change["old_state"], change["new_state"], change["cause"], change["time"]) == \
        ("retained", "cancelled", "clock", t("2027-05-01"))
    # the limit is processed before the cycle start of that instant: no fourth fee
    assert len(retention_fees(sim, c)) == 3
    assert card["balance"] == "80.00"


def test_ret2_card_cancelled_day_after_retention_limit(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-05-02"))
    assert view(sim, c)["state"] == "cancelled"

    before = sim.digest()
    refused(sim, "card_cancelled", sim.renew, acct, c)  # RET-3
    assert sim.digest() == before


def test_ret2_limit_counts_from_expiry_not_from_opening(sim, acct):
    sim.advance(to=t("2027-01-20"))
    c = open_active(sim, acct, "cmcc", "CMCC-Q300", auto_renew=False)  # expires 2027-04-01
    sim.advance(to=t("2027-06-30"))
    assert view(sim, c)["state"] == "retained"
    assert view(sim, c)["retention_until"] == t("2027-07-01")
    sim.advance(to=t("2027-07-01"))
    assert view(sim, c)["state"] == "cancelled"
    assert [r["time"] for r in retention_fees(sim, c)] == [t("2027-04-01"), t("2027-05-01"), t("2027-06-01")]


# ---------------------------------------------------------------------------------------------------- RET-3


def test_ret3_cancelled_card_cannot_be_renewed_resumed_or_paid_into(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-06-01"))
    assert view(sim, c)["state"] == "cancelled"

    before = sim.digest()
    for call in (lambda: sim.renew(acct, c),
                 lambda: sim.resume(acct, c),
                 lambda: sim.suspend(acct, c),
                 lambda: sim.top_up(acct, c, "50"),
                 lambda: sim.reactivate(acct, c),
                 lambda: sim.set_auto_renew(acct, c, True),
                 lambda: sim.buy_addon(acct, c, "CMCC-ADD100"),
                 lambda: sim.appeal_region(acct, c)):
        refused(sim, "card_cancelled", call)
    assert sim.digest() == before

    usage = use(sim, c, mb=1)
    assert (usage.accepted_kb, usage.refused_because, usage.state) == (0, "not_in_service", "cancelled")


def test_ret3_time_does_not_bring_a_cancelled_number_back(sim, acct):
    c = open_active(sim, acct, "cmcc", "CMCC-M100", auto_renew=False)
    sim.advance(to=t("2027-05-01"))
    count = len(history_of(sim, c))
    sim.advance(to=t("2028-06-01"))
    card = view(sim, c)
    assert card["state"] == "cancelled" and card["cancellation"]["cause"] == "retention_expired"
    assert len(history_of(sim, c)) == count  # no fee, no renewal, nothing after the cancellation
