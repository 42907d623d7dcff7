"""Behaviour tests for lost cards and replacements.

Rules: LOST-1 (a card reported lost is barred with reason ``lost``; resume, appeal, time or payment never lift it,
only a replacement does) and SWAP-1 (the new ICCID takes over the number, plan and balance; the old ICCID is
cancelled; the new card is ``ready`` and must be activated before it carries traffic).
"""

from __future__ import annotations

import random

from conftest import (DOC, balance_of, cancel_request, history_of, ledger_of, new_imei, open_active, plan_change, refused, use,
    view, wrong_check_digit)

from carriersim.simulator.identifiers import iccid_problem, make_iccid, make_resident_id


# ---------------------------------------------------------------------------------------------------- LOST-1


def test_lost1_report_lost_bars_the_card(sim, acct):
    imei = new_imei()
    iccid = open_active(sim, acct, imei=imei)
    sim.advance(to="2027-01-03T12:00:00")
    sim.report_lost(acct, iccid)
    shown = view(sim, iccid)
    assert shown["state"] == "suspended" and shown["reasons"] == ["lost"]
    last = history_of(sim, iccid)[-1]
    assert (last["kind"], last["time"], last["old_state"], last["new_state"], last["reasons"], last["change"],
            last["cause"]) == ("state_changed", "2027-01-03T12:00:00+08:00", "active", "suspended", ["lost"],
                               "added", "api")
    result = use(sim, iccid, mb=1, imei=imei)
    assert (result.accepted_kb, result.refused_because, result.reasons) == (0, "suspended", ["lost"])


def test_lost1_lost_card_cannot_be_resumed(sim, acct):
    iccid = open_active(sim, acct)
    sim.report_lost(acct, iccid)
    refused(sim, "not_manually_suspended", sim.resume, acct, iccid)
    assert view(sim, iccid)["reasons"] == ["lost"]


def test_lost1_appeal_does_not_lift(sim, acct):
    iccid = open_active(sim, acct)
    sim.report_lost(acct, iccid)
    refused(sim, "not_region_restricted", sim.appeal_region, acct, iccid)
    assert view(sim, iccid)["state"] == "suspended"


def test_lost1_region_appeal_lifts_region_but_not_lost(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, kb=1, region="CN-XZ")
    sim.report_lost(acct, iccid)
    assert view(sim, iccid)["reasons"] == ["region", "lost"]
    sim.appeal_region(acct, iccid)
    assert view(sim, iccid)["state"] == "suspended" and view(sim, iccid)["reasons"] == ["lost"]


def test_lost1_manual_stop_stacks_and_resume_leaves_lost(sim, acct):
    iccid = open_active(sim, acct)
    sim.report_lost(acct, iccid)
    sim.suspend(acct, iccid)
    assert view(sim, iccid)["reasons"] == ["manual", "lost"]
    sim.resume(acct, iccid)
    assert view(sim, iccid)["state"] == "suspended" and view(sim, iccid)["reasons"] == ["lost"]


def test_lost1_time_and_payment_do_not_lift(sim, acct):
    iccid = open_active(sim, acct, payment="100")
    sim.report_lost(acct, iccid)
    sim.top_up(acct, iccid, "10")
    refused(sim, "not_in_arrears", sim.reactivate, acct, iccid)
    sim.advance(to="2027-04-01T00:00:00")  # three cycle starts, auto-renewed each time
    shown = view(sim, iccid)
    assert shown["state"] == "suspended" and shown["reasons"] == ["lost"]
    assert shown["term_end"] == "2027-05-01T00:00:00+08:00"


def test_lost1_reported_twice_refused(sim, acct):
    iccid = open_active(sim, acct)
    sim.report_lost(acct, iccid)
    refused(sim, "already_lost", sim.report_lost, acct, iccid)


def test_lost1_another_accounts_card_not_found(sim, acct, other):
    iccid = open_active(sim, acct)
    err = refused(sim, "card_not_found", sim.report_lost, other, iccid)
    assert err.status == 404
    assert view(sim, iccid)["reasons"] == []


def test_lost1_refused_for_pending_cancel_and_cancelled(sim, acct):
    iccid = open_active(sim, acct)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)
    refused(sim, "invalid_state", sim.report_lost, acct, iccid)
    sim.advance(to="2027-01-06T00:00:00")
    refused(sim, "card_cancelled", sim.report_lost, acct, iccid)


def test_lost1_only_a_swap_lifts_it(sim, acct):
    iccid = open_active(sim, acct)
    sim.report_lost(acct, iccid)
    new = sim.swap(acct, iccid)
    assert view(sim, new)["reasons"] == []
    sim.activate(acct, new, new_imei())
    assert view(sim, new)["state"] == "active"
    assert view(sim, iccid)["state"] == "cancelled"


# ---------------------------------------------------------------------------------------------------- SWAP-1


def test_swap1_new_card_takes_number_plan_and_balance(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-M1G", payment="100")
    sim.advance(to="2027-01-10T09:00:00")
    sim.report_lost(acct, iccid)
    old_view = view(sim, iccid)
    new = sim.swap(acct, iccid)
    assert new != iccid and iccid_problem(new) is None and new.startswith("8986")
    shown = view(sim, new, acct)
    assert shown["state"] == "ready" and shown["reasons"] == []
    assert shown["msisdn"] == old_view["msisdn"]
    assert shown["plan"] == "CMCC-M1G" and shown["balance"] == "85.00"
    assert shown["term_start"] == old_view["term_start"] and shown["term_end"] == "2027-02-01T00:00:00+08:00"
    assert shown["account"] == acct and shown["carrier"] == "cmcc" and shown["replaces"] == iccid
    assert shown["imei"] is None
    old = view(sim, iccid)
    assert old["state"] == "cancelled" and old["replaced_by"] == new and old["balance"] == "0.00"
    assert old["cancellation"] == {"status": "done", "cause": "swapped", "at": "2027-01-10T09:00:00+08:00",
                                   "certificate": None}
    assert old["imei"] is None  # wiped
    assert balance_of(sim, acct) == "85.00"  # the money moved, none was created or lost
    assert [(r["kind"], r["item"], r["amount"]) for r in ledger_of(sim, iccid)][-1:] == [
        ("transfer_out", "swap", "-85.00")]
    assert [(r["kind"], r["item"], r["amount"], r["balance"]) for r in ledger_of(sim, new)] == [
        ("transfer_in", "swap", "85.00", "85.00")]
    kinds = [e["kind"] for e in history_of(sim, iccid)]
    assert "card_replaced" in kinds and kinds[-1] == "data_wiped"
    assert history_of(sim, new)[0]["kind"] == "card_opened"
    assert history_of(sim, new)[0]["detail"]["replaces"] == iccid


def test_swap1_new_card_must_be_activated(sim, acct):
    old_imei = new_imei()
    iccid = open_active(sim, acct, imei=old_imei)
    use(sim, iccid, mb=40, imei=old_imei)
    sim.advance(to="2027-01-10T00:00:00")
    new = sim.swap(acct, iccid)
    before = use(sim, new, mb=1)
    assert (before.accepted_kb, before.refused_because, before.state) == (0, "not_in_service", "ready")
    sim.advance(to="2027-01-11T08:00:00")
    imei = new_imei()
    sim.activate(acct, new, imei)
    shown = view(sim, new)
    assert shown["state"] == "active" and shown["imei"] == imei
    assert shown["activated_at"] == "2027-01-11T08:00:00+08:00"
    assert shown["term_end"] == "2027-02-01T00:00:00+08:00"  # the old term continues, not a new one
    assert shown["balance"] == "95.00"  # activation charges nothing: the plan was paid on the old card
    assert shown["usage"]["quota_used_mb"] == 40.0  # the month's usage stays with the number
    assert use(sim, new, mb=60, imei=imei).accepted_kb == 60 * 1024
    assert view(sim, new)["reasons"] == ["quota"]  # 40 + 60 = the 100 MB plan quota
    # the old device no longer works with the number
    sim.advance(to="2027-02-01T00:00:00")
    assert use(sim, new, mb=1, imei=old_imei).refused_because == "device"


def test_swap1_into_stock_card(sim, acct):
    stock = sim.add_inventory("cmcc", 1)[0]
    iccid = open_active(sim, acct)
    new = sim.swap(acct, iccid, stock)
    assert new == stock
    shown = view(sim, stock)
    assert shown["state"] == "ready" and shown["account"] == acct
    assert shown["msisdn"] == view(sim, iccid)["msisdn"] and shown["plan"] == "CMCC-M100"


def test_swap1_target_must_be_unsold_stock_of_the_same_carrier(sim, acct):
    iccid = open_active(sim, acct)
    sold = open_active(sim, acct)
    cucc_stock = sim.add_inventory("cucc", 1)[0]
    cmcc_stock = sim.add_inventory("cmcc", 1)[0]
    refused(sim, "card_not_in_stock", sim.swap, acct, iccid, sold)
    refused(sim, "card_not_in_stock", sim.swap, acct, iccid, cucc_stock)
    refused(sim, "card_not_in_stock", sim.swap, acct, iccid, make_iccid("898600", 777777))
    refused(sim, "invalid_iccid", sim.swap, acct, iccid, wrong_check_digit(cmcc_stock))
    refused(sim, "card_not_in_stock", sim.swap, acct, iccid, iccid)
    assert view(sim, iccid)["state"] == "active" and view(sim, cmcc_stock)["state"] == "inventory"


def test_swap1_refused_for_cancelled_pending_and_foreign_cards(sim, acct, other):
    iccid = open_active(sim, acct)
    err = refused(sim, "card_not_found", sim.swap, other, iccid)
    assert err.status == 404
    new = sim.swap(acct, iccid)
    refused(sim, "card_cancelled", sim.swap, acct, iccid)  # the old ICCID is gone for good
    sim.activate(acct, new, new_imei())
    sim.set_auto_renew(acct, new, False)
    sim.unbind_device(acct, new)
    cancel_request(sim, acct, new, DOC)
    refused(sim, "invalid_state", sim.swap, acct, new)


def test_swap1_old_number_cancelled_at_once_and_cannot_be_used(sim, acct):
    iccid = open_active(sim, acct)
    sim.swap(acct, iccid)
    refused(sim, "card_cancelled", sim.top_up, acct, iccid, "5")
    refused(sim, "card_cancelled", sim.renew, acct, iccid)
    refused(sim, "invalid_state", sim.activate, acct, iccid)
    assert use(sim, iccid, mb=1).refused_because == "not_in_service"


def test_swap1_ready_card_can_be_swapped_and_its_term_starts_at_activation(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="10")
    new = sim.swap(acct, iccid)
    assert view(sim, new)["term_start"] is None and view(sim, new)["balance"] == "5.00"
    sim.advance(to="2027-01-15T00:00:00")
    sim.activate(acct, new, new_imei())
    assert view(sim, new)["term_start"] == "2027-01-15T00:00:00+08:00"
    assert view(sim, new)["term_end"] == "2027-02-01T00:00:00+08:00"


def test_swap1_term_renews_on_the_new_card(sim, acct):
    iccid = open_active(sim, acct, payment="20")
    new = sim.swap(acct, iccid)
    sim.activate(acct, new, new_imei())
    sim.advance(to="2027-02-01T00:00:00")
    shown = view(sim, new)
    assert shown["state"] == "active" and shown["balance"] == "10.00"
    assert shown["term_end"] == "2027-03-01T00:00:00+08:00"
    assert view(sim, iccid)["balance"] == "0.00"  # nothing charged on the cancelled old card


def test_swap1_pending_plan_change_moves_to_the_new_card(sim, acct):
    iccid = open_active(sim, acct, payment="50")
    plan_change(sim, acct, iccid, "CMCC-M1G")
    new = sim.swap(acct, iccid)
    assert view(sim, new)["pending_change"] == {"plan": "CMCC-M1G", "effective_at": "2027-02-01T00:00:00+08:00"}
    assert view(sim, iccid)["pending_change"] is None
    sim.activate(acct, new, new_imei())
    sim.advance(to="2027-02-01T00:00:00")
    assert view(sim, new)["plan"] == "CMCC-M1G" and view(sim, new)["balance"] == "30.00"
    assert view(sim, iccid)["plan"] == "CMCC-M100"


def test_swap1_suspension_reasons_other_than_lost_device_maintenance_carry_over(sim, acct):
    imei = new_imei()
    iccid = open_active(sim, acct, imei=imei)
    sim.suspend(acct, iccid)
    use(sim, iccid, kb=1, imei=new_imei())  # another device: `device`
    sim.report_lost(acct, iccid)
    assert view(sim, iccid)["reasons"] == ["manual", "device", "lost"]
    new = sim.swap(acct, iccid)
    assert view(sim, new)["state"] == "ready" and view(sim, new)["reasons"] == ["manual"]
    sim.activate(acct, new, new_imei())
    assert view(sim, new)["state"] == "suspended"
    sim.resume(acct, new)
    assert view(sim, new)["state"] == "active"


def test_swap1_zero_balance_moves_no_money(sim, acct):
    iccid = open_active(sim, acct, payment="5")
    new = sim.swap(acct, iccid)
    assert ledger_of(sim, new) == []
    assert view(sim, new)["balance"] == "0.00"
    assert "transfer_out" not in [e["kind"] for e in history_of(sim, iccid)]


def test_swap1_pool_membership_moves_to_the_new_card(sim, acct):
    a = open_active(sim, acct)
    b = open_active(sim, acct)
    pool = sim.create_pool(acct, "cmcc", "fleet")
    sim.add_to_pool(acct, pool, a)
    sim.add_to_pool(acct, pool, b)
    new = sim.swap(acct, a)
    assert view(sim, new)["usage"]["pool"] == {"id": pool, "used_mb": 0.0, "quota_mb": 200.0}
    assert "pool" not in view(sim, a)["usage"]


def test_swap1_does_not_restart_real_name_grace(sim):
    """KYC-1 + SWAP-1: the replacement keeps the number's grace deadline (activation + 7 days for cmcc)."""
    person = sim.create_account("张三", kind="personal")
    iccid = open_active(sim, person)  # activated 2027-01-01T00:00, unverified: deadline 2027-01-08T00:00
    assert view(sim, iccid)["real_name_deadline"] == "2027-01-08T00:00:00+08:00"
    sim.advance(to="2027-01-05T00:00:00")
    new = sim.swap(person, iccid)
    sim.advance(to="2027-01-06T00:00:00")
    sim.activate(person, new, new_imei())
    assert view(sim, new)["real_name_deadline"] == "2027-01-08T00:00:00+08:00"
    sim.advance(to="2027-01-07T23:59:59")
    assert view(sim, new)["state"] == "active"
    sim.advance(to="2027-01-08T00:00:00")
    assert view(sim, new)["reasons"] == ["unverified"]
    sim.verify_identity(person, new, "张三", make_resident_id(random.Random(3)))
    assert view(sim, new)["state"] == "active"


def test_swap1_grace_that_ran_out_before_activation_applies_at_activation(sim):
    person = sim.create_account("李四", kind="personal")
    iccid = open_active(sim, person)
    sim.advance(to="2027-01-05T00:00:00")
    new = sim.swap(person, iccid)
    sim.advance(to="2027-01-10T00:00:00")  # the deadline passed while the new card waited
    sim.activate(person, new, new_imei())
    shown = view(sim, new)
    assert shown["state"] == "suspended" and shown["reasons"] == ["unverified"]
    last = history_of(sim, new)[-1]
    assert (last["time"], last["reasons"], last["change"], last["cause"]) == (
        "2027-01-10T00:00:00+08:00", ["unverified"], "added", "api")


def test_swap1_never_activated_unverified_card_gets_its_grace_at_activation(sim):
    person = sim.create_account("王五", kind="personal")
    iccid = sim.open_card(person, "cmcc", "CMCC-M100")
    new = sim.swap(person, iccid)
    sim.advance(to="2027-01-03T06:00:00")
    sim.activate(person, new, new_imei())
    assert view(sim, new)["real_name_deadline"] == "2027-01-10T06:00:00+08:00"
    assert view(sim, new)["state"] == "active"


def test_swap1_replacement_keeps_the_device_change_count_for_can3(sim, acct):
    iccid = open_active(sim, acct)
    for _ in range(3):
        sim.rebind_device(acct, iccid, new_imei())
    new = sim.swap(acct, iccid)
    assert view(sim, new)["device_changes"] == 3
