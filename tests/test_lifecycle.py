"""Behaviour tests for the card lifecycle.

Rules: LIFE-1 (states inventory, testing, ready, active, suspended, retained, pending_cancel, cancelled and the
transitions between them: stock -> sale -> testing/activation -> service -> cancellation) and LIFE-4 (every state
change is an event with its time, old state, new state, reason and cause; a card's history is readable through the
API).
"""

from __future__ import annotations

import pytest
from conftest import DOC, cancel_request, events_of, history_of, new_imei, open_active, refused, use, view

from carriersim.simulator import Simulation
from carriersim.simulator.identifiers import iccid_problem, make_iccid


def transitions(sim: Simulation, iccid: str) -> list[tuple]:
    """(time, old, new, reasons, change, cause) of every state change in the card's history."""
    return [(e["time"], e["old_state"], e["new_state"], e["reasons"], e["change"], e["cause"])
            for e in history_of(sim, iccid) if e["kind"] == "state_changed"]


T0 = "2027-01-01T00:00:00+08:00"


# ---------------------------------------------------------------------------------------------------- LIFE-1


def test_life1_inventory_card_is_unsold_and_serves_nobody(sim, acct):
    [iccid] = sim.add_inventory("cmcc", 1)
    shown = view(sim, iccid)
    assert shown["state"] == "inventory"
    assert shown["account"] is None and shown["plan"] is None and shown["balance"] == "0.00"
    assert shown["reasons"] == [] and shown["term_start"] is None and shown["activated_at"] is None
    assert history_of(sim, iccid) == []  # nothing has happened to it yet
    # nobody owns it: to an account it does not exist (PLAN-3 shape)
    err = refused(sim, "card_not_found", sim.activate, acct, iccid, new_imei())
    assert err.status == 404
    # the network carries nothing for it
    before = sim.digest()
    result = use(sim, iccid, mb=1)
    assert (result.accepted_kb, result.refused_kb, result.refused_because) == (0, 1024, "not_in_service")
    assert result.state == "inventory"
    assert sim.digest() == before


def test_life1_add_inventory_gives_distinct_valid_iccids_of_the_carrier(sim):
    cards = sim.add_inventory("ctcc", 3)
    assert len(set(cards)) == 3
    assert all(iccid_problem(c) is None and c.startswith(("898603", "898611")) for c in cards)
    assert all(view(sim, c)["carrier"] == "ctcc" and view(sim, c)["state"] == "inventory" for c in cards)


@pytest.mark.parametrize("count", [0, -1, 100_001])
def test_life1_add_inventory_count_out_of_range_refused(sim, count):
    refused(sim, "invalid_input", sim.add_inventory, "cmcc", count)


def test_life1_add_inventory_unknown_carrier_refused(sim):
    err = refused(sim, "carrier_not_found", sim.add_inventory, "xxcc", 1)
    assert err.status == 404


def test_life1_selling_stock_card_makes_it_ready(sim, acct):
    stock = sim.add_inventory("cmcc", 2)
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="20", iccid=stock[1])
    assert iccid == stock[1]
    shown = view(sim, iccid, acct)
    assert shown["state"] == "ready" and shown["reasons"] == []
    assert shown["account"] == acct and shown["plan"] == "CMCC-M100" and shown["balance"] == "15.00"
    assert shown["term_start"] is None and shown["term_end"] is None  # the term starts at activation
    assert view(sim, stock[0])["state"] == "inventory"  # the other one stays in stock
    assert transitions(sim, iccid) == [(T0, "inventory", "ready", [], "none", "api")]


def test_life1_stock_card_sold_once_only(sim, acct, other):
    [iccid] = sim.add_inventory("cmcc", 1)
    sim.open_card(acct, "cmcc", "CMCC-M100", iccid=iccid)
    err = refused(sim, "card_not_in_stock", sim.open_card, other, "cmcc", "CMCC-M100", iccid=iccid)
    assert err.status == 409
    assert view(sim, iccid)["account"] == acct


def test_life1_stock_card_of_another_carrier_not_sold(sim, acct):
    [iccid] = sim.add_inventory("cucc", 1)
    refused(sim, "card_not_in_stock", sim.open_card, acct, "cmcc", "CMCC-M100", iccid=iccid)
    assert view(sim, iccid)["state"] == "inventory"


def test_life1_unknown_or_malformed_stock_iccid_refused(sim, acct):
    [iccid] = sim.add_inventory("cmcc", 1)
    bad_check = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    refused(sim, "invalid_iccid", sim.open_card, acct, "cmcc", "CMCC-M100", iccid=bad_check)
    refused(sim, "card_not_in_stock", sim.open_card, acct, "cmcc", "CMCC-M100", iccid=make_iccid("898600", 99999))


def test_life1_underpaid_sale_leaves_stock_card_in_inventory(sim, acct):
    [iccid] = sim.add_inventory("cmcc", 1)
    refused(sim, "insufficient_balance", sim.open_card, acct, "cmcc", "CMCC-M100", payment="4.99", iccid=iccid)
    assert view(sim, iccid)["state"] == "inventory" and view(sim, iccid)["account"] is None


def test_life1_exact_payment_opens_card_with_zero_balance(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="5.00")
    assert view(sim, iccid)["state"] == "ready" and view(sim, iccid)["balance"] == "0.00"


def test_life1_ready_card_carries_no_traffic_until_activated(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="10")
    result = use(sim, iccid, mb=1)
    assert (result.accepted_kb, result.refused_because, result.state) == (0, "not_in_service", "ready")
    sim.advance(to="2027-01-10T08:30:00")
    imei = new_imei()
    sim.activate(acct, iccid, imei)
    shown = view(sim, iccid)
    assert shown["state"] == "active" and shown["reasons"] == []
    assert shown["activated_at"] == "2027-01-10T08:30:00+08:00"
    assert shown["term_start"] == "2027-01-10T08:30:00+08:00"
    assert shown["term_end"] == "2027-02-01T00:00:00+08:00"  # natural month: the partial month is month 1
    assert shown["imei"] == imei
    assert use(sim, iccid, mb=1, imei=imei).accepted_kb == 1024
    assert transitions(sim, iccid)[-1] == ("2027-01-10T08:30:00+08:00", "ready", "active", [], "none", "api")


def test_life1_activation_without_imei_binds_first_device_seen(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100")
    sim.activate(acct, iccid)
    assert view(sim, iccid)["state"] == "active" and view(sim, iccid)["imei"] is None
    imei = new_imei()
    assert use(sim, iccid, kb=10, imei=imei).accepted_kb == 10
    assert view(sim, iccid)["imei"] == imei


def test_life1_testing_card_uses_test_allowance_then_activates(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="10", testing=True)
    assert view(sim, iccid)["state"] == "testing"
    assert transitions(sim, iccid) == [(T0, "inventory", "testing", [], "none", "api")]
    # cmcc's test allowance is 10 MB: one KB short of it is carried in full
    first = use(sim, iccid, kb=10 * 1024 - 1)
    assert (first.accepted_kb, first.refused_kb, first.refused_because) == (10 * 1024 - 1, 0, None)
    # the boundary: 1 KB left, 2 asked
    second = use(sim, iccid, kb=2)
    assert (second.accepted_kb, second.refused_kb, second.refused_because) == (1, 1, "test_quota")
    assert second.state == "testing" and second.reasons == []  # not suspended, just out of test allowance
    assert view(sim, iccid)["usage"]["test_used_mb"] == 10.0
    assert view(sim, iccid)["term_start"] is None  # testing does not start the paid term
    sim.advance(to="2027-01-05T00:00:00")
    sim.activate(acct, iccid, new_imei())
    shown = view(sim, iccid)
    assert shown["state"] == "active"
    assert shown["term_start"] == "2027-01-05T00:00:00+08:00"
    assert shown["usage"]["quota_used_mb"] == 0.0  # test traffic does not count against the plan
    assert "test_used_mb" not in shown["usage"]
    assert transitions(sim, iccid)[-1] == ("2027-01-05T00:00:00+08:00", "testing", "active", [], "none", "api")


def test_life1_activate_refused_for_active_card(sim, acct):
    iccid = open_active(sim, acct)
    err = refused(sim, "invalid_state", sim.activate, acct, iccid, new_imei())
    assert err.detail["state"] == "active"


def test_life1_activate_refused_for_suspended_card(sim, acct):
    iccid = open_active(sim, acct)
    sim.suspend(acct, iccid)
    err = refused(sim, "invalid_state", sim.activate, acct, iccid, new_imei())
    assert err.detail["state"] == "suspended"


def test_life1_activate_refused_for_pending_cancel_and_cancelled(sim, acct):
    iccid = open_active(sim, acct)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)
    assert refused(sim, "invalid_state", sim.activate, acct, iccid).detail["state"] == "pending_cancel"
    sim.advance(to="2027-01-06T00:00:00")
    assert refused(sim, "invalid_state", sim.activate, acct, iccid).detail["state"] == "cancelled"


def test_life1_activate_bad_imei_refused(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100")
    bad = new_imei()
    bad = bad[:-1] + str((int(bad[-1]) + 1) % 10)
    refused(sim, "invalid_imei", sim.activate, acct, iccid, bad)
    refused(sim, "invalid_imei", sim.activate, acct, iccid, 860000000010008)
    assert view(sim, iccid)["state"] == "ready"


def test_life1_activate_another_accounts_card_not_found(sim, acct, other):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100")
    err = refused(sim, "card_not_found", sim.activate, other, iccid, new_imei())
    assert err.status == 404
    assert view(sim, iccid)["state"] == "ready"


def test_life1_every_state_is_reachable(sim, acct):
    """One walk through all eight LIFE-1 states, read back from the cards' histories."""
    [stock] = sim.add_inventory("cmcc", 1)
    assert view(sim, stock)["state"] == "inventory"
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="50", iccid=stock)  # ready
    tester = sim.open_card(acct, "cmcc", "CMCC-M100", testing=True)  # testing
    sim.activate(acct, iccid, new_imei())  # active
    sim.suspend(acct, iccid)  # suspended (manual)
    sim.resume(acct, iccid)  # active again
    sim.set_auto_renew(acct, iccid, False)
    sim.advance(to="2027-02-01T00:00:00")  # term ends unrenewed: retained (EXP-1, RET-1)
    assert view(sim, iccid)["state"] == "retained"
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)  # pending_cancel
    assert view(sim, iccid)["state"] == "pending_cancel"
    sim.advance(to="2027-02-05T00:00:00")  # Mon 02-01 + 3 working days: cancelled
    assert view(sim, iccid)["state"] == "cancelled"
    seen = {t[2] for t in transitions(sim, iccid)} | {t[1] for t in transitions(sim, iccid)}
    seen |= {t[2] for t in transitions(sim, tester)}
    assert seen == {"inventory", "testing", "ready", "active", "suspended", "retained", "pending_cancel",
                    "cancelled"}
    assert [t[1:3] for t in transitions(sim, iccid)] == [
        ("inventory", "ready"), ("ready", "active"), ("active", "suspended"), ("suspended", "active"),
        ("active", "retained"), ("retained", "pending_cancel"), ("pending_cancel", "cancelled")]


def test_life1_cancelled_is_final(sim, acct):
    iccid = open_active(sim, acct)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    refused(sim, "card_cancelled", sim.top_up, acct, iccid, "10")
    refused(sim, "card_cancelled", sim.renew, acct, iccid)
    refused(sim, "card_cancelled", sim.resume, acct, iccid)
    refused(sim, "card_cancelled", sim.report_lost, acct, iccid)
    refused(sim, "card_cancelled", sim.swap, acct, iccid)
    result = use(sim, iccid, mb=1)
    assert result.refused_because == "not_in_service" and result.state == "cancelled"
    sim.advance(to="2028-01-01T00:00:00")
    assert view(sim, iccid)["state"] == "cancelled"


# ---------------------------------------------------------------------------------------------------- LIFE-4


def test_life4_history_records_each_change_with_time_states_reason_and_cause(sim, acct):
    imei = new_imei()
    iccid = open_active(sim, acct, imei=imei)
    sim.advance(to="2027-01-10T10:00:00")
    result = use(sim, iccid, mb=100, imei=imei)  # exactly the quota: stops for quota
    assert result.state == "suspended" and result.reasons == ["quota"]
    sim.advance(to="2027-02-01T00:00:00")  # QUOTA-2: resumes at the cycle start
    assert transitions(sim, iccid) == [
        (T0, "inventory", "ready", [], "none", "api"),
        (T0, "ready", "active", [], "none", "api"),
        ("2027-01-10T10:00:00+08:00", "active", "suspended", ["quota"], "added", "usage"),
        ("2027-02-01T00:00:00+08:00", "suspended", "active", ["quota"], "removed", "clock"),
    ]


def test_life4_stacked_reasons_each_recorded_even_without_state_change(sim, acct):
    iccid = open_active(sim, acct)
    sim.advance(to="2027-01-02T09:00:00")
    sim.suspend(acct, iccid)
    sim.advance(to="2027-01-02T10:00:00")
    use(sim, iccid, kb=1, region="CN-XJ")  # restricted region on top of the manual stop
    sim.advance(to="2027-01-03T00:00:00")
    sim.appeal_region(acct, iccid)
    sim.resume(acct, iccid)
    assert transitions(sim, iccid)[2:] == [
        ("2027-01-02T09:00:00+08:00", "active", "suspended", ["manual"], "added", "api"),
        ("2027-01-02T10:00:00+08:00", "suspended", "suspended", ["region"], "added", "usage"),
        ("2027-01-03T00:00:00+08:00", "suspended", "suspended", ["region"], "removed", "api"),
        ("2027-01-03T00:00:00+08:00", "suspended", "active", ["manual"], "removed", "api"),
    ]


def test_life4_world_cause_for_maintenance(sim, acct):
    iccid = open_active(sim, acct)
    sim.advance(to="2027-01-05T02:00:00")
    sim.start_maintenance("cmcc", duration="2 hours")
    sim.advance(to="2027-01-05T05:00:00")
    assert transitions(sim, iccid)[2:] == [
        ("2027-01-05T02:00:00+08:00", "active", "suspended", ["maintenance"], "added", "world"),
        ("2027-01-05T04:00:00+08:00", "suspended", "active", ["maintenance"], "removed", "world"),
    ]


def test_life4_history_is_ordered_and_includes_money_and_other_events(sim, acct):
    iccid = open_active(sim, acct, payment="20")
    sim.advance(to="2027-01-20T12:00:00")
    sim.top_up(acct, iccid, "7.50")
    sim.advance(to="2027-02-01T00:00:00")
    events = history_of(sim, iccid)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    times = [e["time"] for e in events]
    assert times == sorted(times)
    assert all(e["iccid"] == iccid for e in events)
    money = [(e["time"], e["kind"], e["amount"], e["cause"]) for e in events if "amount" in e]
    assert money == [
        (T0, "payment", "20.00", "api"),
        (T0, "charge", "-5.00", "api"),
        ("2027-01-20T12:00:00+08:00", "payment", "7.50", "api"),
        ("2027-02-01T00:00:00+08:00", "charge", "-5.00", "clock"),  # auto-renewal at the cycle start
    ]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "card_opened" and "device_bound" in kinds and "renewed" in kinds
    assert all("old_state" not in e for e in events if e["kind"] != "state_changed")


def test_life4_history_matches_the_events_feed(sim, acct):
    iccid = open_active(sim, acct)
    sim.suspend(acct, iccid)
    feed = [e for e in events_of(sim) if e["iccid"] == iccid]
    assert history_of(sim, iccid) == feed


def test_life4_history_is_readable_only_by_the_owner(sim, acct, other):
    iccid = open_active(sim, acct)
    assert history_of(sim, iccid, acct) == history_of(sim, iccid)
    err = refused(sim, "card_not_found", sim.history, iccid, other)
    assert err.status == 404
    ghost = make_iccid("898600", 424242)
    err2 = refused(sim, "card_not_found", sim.history, ghost, other)
    assert err2.message.replace(ghost, "X") == err.message.replace(iccid, "X")  # reveals nothing


def test_life4_history_bad_iccid_refused(sim):
    refused(sim, "invalid_iccid", sim.history, "1234")
    refused(sim, "invalid_input", sim.history, 8986000000000000001)


def test_life4_reading_history_changes_nothing(sim, acct):
    iccid = open_active(sim, acct)
    before = sim.digest()
    history_of(sim, iccid)
    history_of(sim, iccid, acct)
    assert sim.digest() == before


def test_life4_refused_operation_leaves_no_event(sim, acct):
    iccid = open_active(sim, acct)
    count = len(history_of(sim, iccid))
    refused(sim, "not_manually_suspended", sim.resume, acct, iccid)
    assert len(history_of(sim, iccid)) == count


def test_life4_cancellation_path_recorded(sim, acct):
    iccid = open_active(sim, acct)
    sim.set_auto_renew(acct, iccid, False)
    sim.unbind_device(acct, iccid)
    cancel_request(sim, acct, iccid, DOC)
    sim.advance(to="2027-01-06T00:00:00")
    assert transitions(sim, iccid)[2:] == [
        (T0, "active", "pending_cancel", [], "none", "api"),
        ("2027-01-06T00:00:00+08:00", "pending_cancel", "cancelled", [], "none", "clock"),
    ]
    cancelled = [e for e in history_of(sim, iccid) if e["kind"] == "state_changed"][-1]
    assert cancelled["detail"]["why"] == "requested"
