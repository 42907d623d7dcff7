"""Carrier maintenance (系统维护): MAINT-1.

During a carrier's window its platform operations raise ``carrier_unavailable`` (status 503, detail ``retry_after``
in seconds and ``until``), reads too unless the profile says ``maintenance: {refuse_reads: false}``; its active
cards are stopped for ``maintenance`` (unless ``stop_cards=False``); at the end of the window the cards recover with
no action. Other carriers are not affected.
"""

from __future__ import annotations

import copy

import pytest
from conftest import (DOC, balance_of, batch_of, changes, events_of, history_of, ledger_of, new_imei, open_active,
                      plan_change, refused, state, t, use, view)

from carriersim.simulator import ProfileError, Simulation, builtin_profile
from carriersim.simulator.profile import parse_profile


def platform_ops(sim, acct, iccid):
    """Every platform operation on a card (each would change something if it were allowed)."""
    return {
        "top_up": lambda: sim.top_up(acct, iccid, "10"),
        "suspend": lambda: sim.suspend(acct, iccid),
        "resume": lambda: sim.resume(acct, iccid),
        "renew": lambda: sim.renew(acct, iccid),
        "buy_addon": lambda: sim.buy_addon(acct, iccid, "CMCC-ADD100"),
        "change_plan": lambda: plan_change(sim, acct, iccid, "CMCC-M1G"),
        "set_auto_renew": lambda: sim.set_auto_renew(acct, iccid, False),
        "rebind_device": lambda: sim.rebind_device(acct, iccid, new_imei()),
        "report_lost": lambda: sim.report_lost(acct, iccid),
    }


def test_maint1_window_stops_active_cards_and_ops_raise_carrier_unavailable(sim, acct):
    c = open_active(sim, acct)
    sim.advance(to=t("2027-01-05", "01:00:00"))
    sim.start_maintenance("cmcc", duration="2 hours")

    assert state(sim, c) == ("suspended", ["maintenance"])
    assert changes(sim, c)[-1] == ("active", "suspended", ["maintenance"], "added", "world", t("2027-01-05", "01:00:00"))

    before = sim.digest()
    for name, op in platform_ops(sim, acct, c).items():
        err = refused(sim, "carrier_unavailable", op)
        assert err.status == 503, name
        assert err.detail["retry_after"] == 7200, name
        assert err.detail["until"] == t("2027-01-05", "03:00:00")
    refused(sim, "carrier_unavailable", sim.open_card, acct, "cmcc", "CMCC-M100")
    assert sim.digest() == before

    usage = use(sim, c, mb=1)  # traffic is a world event: not refused with an error, just not carried
    assert (usage.accepted_kb, usage.refused_because, usage.reasons) == (0, "suspended", ["maintenance"])


def test_maint1_retry_after_counts_down_to_the_end(sim, acct):
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", until=t("2027-01-01", "02:00:00"))
    assert refused(sim, "carrier_unavailable", sim.top_up, acct, c, "1").detail["retry_after"] == 7200
    sim.advance(by="30 minutes")
    assert refused(sim, "carrier_unavailable", sim.top_up, acct, c, "1").detail["retry_after"] == 5400
    sim.advance(to=t("2027-01-01", "01:59:59"))
    assert refused(sim, "carrier_unavailable", sim.top_up, acct, c, "1").detail["retry_after"] == 1
    assert state(sim, c) == ("suspended", ["maintenance"])


def test_maint1_reads_are_refused_during_the_window_by_default(sim, acct):
    """A real carrier's platform in maintenance answers no queries either: the shipped profiles say
    ``maintenance: {refuse_reads: true}``, and a profile that does not say anything gets the same."""
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", duration="1 hour")
    assert all(builtin_profile(x).maintenance_refuse_reads for x in ("cmcc", "cucc", "ctcc"))
    for read in (sim.card, sim.history, sim.ledger):
        err = refused(sim, "carrier_unavailable", read, c, acct)
        assert (err.status, err.detail["retry_after"]) == (503, 3600)
    # the simulator's own view (test control, the world) and what is not one carrier's card still answer
    assert view(sim, c)["reasons"] == ["maintenance"]
    assert balance_of(sim, acct) == "95.00"
    assert [p.code for p in sim.plans("cmcc")][:1] == ["CMCC-M30"]
    assert events_of(sim)[-1]["reasons"] == ["maintenance"]
    sim.advance(by="1 hour")
    assert view(sim, c, acct)["reasons"] == []  # and the carrier answers again at the window's end
    data = copy.deepcopy(builtin_profile("cmcc").raw)
    del data["maintenance"]
    assert parse_profile({**data, "id": "quiet"}).maintenance_refuse_reads is True


def test_maint1_reads_still_work_where_the_profile_says_refuse_reads_false():
    data = copy.deepcopy(builtin_profile("cmcc").raw)
    data.update(id="lenient", maintenance={"refuse_reads": False})
    sim = Simulation(seed=1, profiles=[parse_profile(data, "lenient.yaml")])
    acct = sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number=DOC)
    c = open_active(sim, acct, "lenient", "CMCC-M100")
    sim.start_maintenance("lenient", duration="1 hour")
    card = view(sim, c, acct)
    assert (card["state"], card["reasons"], card["balance"]) == ("suspended", ["maintenance"], "95.00")
    assert history_of(sim, c, acct)[-1]["reasons"] == ["maintenance"]
    assert [row["amount"] for row in ledger_of(sim, c, acct)] == ["100.00", "-5.00"]
    err = refused(sim, "carrier_unavailable", sim.top_up, acct, c, "1")  # writes are refused all the same
    assert err.status == 503


def test_maint1_refuse_reads_is_a_boolean_in_the_schema():
    data = copy.deepcopy(builtin_profile("cmcc").raw)
    data.update(id="typo", maintenance={"refuse_reads": "sometimes"})
    with pytest.raises(ProfileError) as err:
        parse_profile(data, "typo.yaml")
    assert err.value.field == "maintenance.refuse_reads" and "boolean" in err.value.problem


def test_maint1_cards_recover_at_the_end_without_action(sim, acct):
    c = open_active(sim, acct)
    sim.advance(to=t("2027-01-05", "01:00:00"))
    sim.start_maintenance("cmcc", duration="2 hours")
    mark = len(history_of(sim, c))

    sim.advance(to=t("2027-01-05", "02:59:59"))
    assert state(sim, c) == ("suspended", ["maintenance"])
    sim.advance(to=t("2027-01-05", "03:00:00"))
    assert state(sim, c) == ("active", [])
    assert changes(sim, c, mark) == [("suspended", "active", ["maintenance"], "removed", "world",
                                      t("2027-01-05", "03:00:00"))]
    assert use(sim, c, mb=1).accepted_kb == 1024
    sim.top_up(acct, c, "10")  # the API answers again
    assert view(sim, c)["balance"] == "105.00"


def test_maint1_other_carriers_are_unaffected(sim, acct):
    mobile = open_active(sim, acct)
    unicom = open_active(sim, acct, "cucc", "CUCC-M50")
    telecom = open_active(sim, acct, "ctcc", "CTCC-M20")
    sim.start_maintenance("cmcc", duration="3 hours")

    assert state(sim, mobile) == ("suspended", ["maintenance"])
    assert state(sim, unicom) == ("active", []) and state(sim, telecom) == ("active", [])
    assert use(sim, unicom, mb=1).accepted_kb == 1024
    sim.top_up(acct, unicom, "5")
    sim.suspend(acct, telecom)
    sim.resume(acct, telecom)
    fresh = open_active(sim, acct, "cucc", "CUCC-M50")
    assert state(sim, fresh) == ("active", [])
    assert not [e for e in history_of(sim, unicom) + history_of(sim, telecom) if "maintenance" in e.get("reasons", [])]


def test_maint1_without_stopping_cards_the_api_is_still_unavailable(sim, acct):
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", duration="1 hour", stop_cards=False)
    assert state(sim, c) == ("active", [])
    assert use(sim, c, mb=1).accepted_kb == 1024
    refused(sim, "carrier_unavailable", sim.suspend, acct, c)
    sim.advance(by="1 hour")
    sim.suspend(acct, c)
    assert state(sim, c) == ("suspended", ["manual"])


def test_maint1_manual_stop_outlives_the_window(sim, acct):
    c = open_active(sim, acct)
    sim.suspend(acct, c)
    sim.start_maintenance("cmcc", duration="1 hour")
    assert state(sim, c) == ("suspended", ["manual", "maintenance"])
    sim.advance(by="1 hour")
    assert state(sim, c) == ("suspended", ["manual"])  # LIFE-3
    sim.resume(acct, c)
    assert state(sim, c) == ("active", [])


def test_maint1_card_not_yet_activated_waits_for_the_end(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100")
    sim.start_maintenance("cmcc", duration="1 hour")
    assert state(sim, c) == ("ready", [])
    before = sim.digest()
    refused(sim, "carrier_unavailable", sim.activate, acct, c, new_imei())
    assert sim.digest() == before
    sim.advance(by="1 hour")
    assert state(sim, c) == ("ready", [])
    sim.activate(acct, c, new_imei())
    assert state(sim, c) == ("active", [])


def test_maint1_ending_early_recovers_at_once_and_the_planned_end_does_nothing(sim, acct):
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", duration="4 hours")
    sim.advance(by="1 hour")
    sim.end_maintenance("cmcc")
    assert state(sim, c) == ("active", [])
    sim.top_up(acct, c, "1")
    count = len(history_of(sim, c))
    sim.advance(by="5 hours")
    assert len(history_of(sim, c)) == count
    before = sim.digest()
    refused(sim, "no_maintenance", sim.end_maintenance, "cmcc")
    assert sim.digest() == before


def test_maint1_extended_window_holds_until_the_new_end(sim, acct):
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", until=t("2027-01-01", "02:00:00"))
    sim.advance(by="1 hour")
    sim.start_maintenance("cmcc", until=t("2027-01-01", "04:00:00"))
    sim.advance(to=t("2027-01-01", "02:00:00"))
    assert state(sim, c) == ("suspended", ["maintenance"])
    assert refused(sim, "carrier_unavailable", sim.top_up, acct, c, "1").detail["retry_after"] == 7200
    sim.advance(to=t("2027-01-01", "04:00:00"))
    assert state(sim, c) == ("active", [])
    assert len([e for e in changes(sim, c) if e[2] == ["maintenance"]]) == 2  # one stop, one recovery


def test_maint1_clock_keeps_running_through_a_window_over_the_cycle_start(sim, acct):
    renewing = open_active(sim, acct)
    expiring = open_active(sim, acct, auto_renew=False)
    sim.advance(to=t("2027-01-31", "23:00:00"))
    sim.start_maintenance("cmcc", until=t("2027-02-01", "01:00:00"))

    sim.advance(to=t("2027-02-01", "00:30:00"))
    assert state(sim, renewing) == ("suspended", ["maintenance"])
    assert view(sim, renewing)["term_end"] == t("2027-03-01")  # auto-renewed at the cycle start
    assert state(sim, expiring) == ("retained", ["expired", "maintenance"])  # EXP-1 too

    sim.advance(to=t("2027-02-01", "01:00:00"))
    assert state(sim, renewing) == ("active", [])
    assert state(sim, expiring) == ("retained", ["expired"])
    assert sim.renew(acct, expiring) == "restored"


def test_maint1_invalid_windows_are_refused_and_change_nothing(sim, acct):
    open_active(sim, acct)
    sim.advance(to=t("2027-01-02"))
    before = sim.digest()
    refused(sim, "invalid_input", sim.start_maintenance, "cmcc", until=t("2027-01-01"))  # in the past
    refused(sim, "invalid_input", sim.start_maintenance, "cmcc", until=t("2027-01-02"))  # ends now
    refused(sim, "invalid_input", sim.start_maintenance, "cmcc", until=t("2027-01-03"), duration="1 hour")
    refused(sim, "invalid_input", sim.start_maintenance, "cmcc")
    refused(sim, "invalid_input", sim.start_maintenance, "cmcc", duration="soon")
    assert refused(sim, "carrier_not_found", sim.start_maintenance, "acme", duration="1 hour").status == 404
    refused(sim, "no_maintenance", sim.end_maintenance, "cmcc")
    assert sim.digest() == before


def test_maint1_batch_rows_report_carrier_unavailable(sim, acct):
    cards = [open_active(sim, acct) for _ in range(2)]
    unicom = open_active(sim, acct, "cucc", "CUCC-M50")
    sim.start_maintenance("cmcc", duration="1 hour")
    data = ("iccid\n" + "\n".join(cards + [unicom]) + "\n").encode()
    result = batch_of(sim, acct, "suspend", data, "suspend.csv")
    assert [(r["ok"], r.get("code")) for r in result["rows"]] == [(False, "carrier_unavailable"),
                                                                  (False, "carrier_unavailable"), (True, None)]
    assert (result["succeeded"], result["failed"]) == (1, 2)
    assert state(sim, unicom) == ("suspended", ["manual"])
    assert all(state(sim, c) == ("suspended", ["maintenance"]) for c in cards)


def test_maint1_another_accounts_card_stays_not_found_during_the_window(sim, acct, other):
    c = open_active(sim, acct)
    sim.start_maintenance("cmcc", duration="1 hour")
    before = sim.digest()
    # PLAN-3 first: another account learns nothing about the card, not even that its carrier is in maintenance
    assert refused(sim, "card_not_found", sim.top_up, other, c, "1").status == 404
    assert refused(sim, "card_not_found", sim.card, c, other).status == 404
    assert sim.digest() == before


def test_maint1_window_end_leaves_cards_cancelled_meanwhile_untouched(sim, acct):
    iccid = open_active(sim, acct, auto_renew=False)
    sim.start_maintenance("cmcc", until="2027-01-01T06:00:00")
    sim.carrier_bar(iccid)  # world actions still reach the card during the window
    sim.end_maintenance("cmcc")
    assert "maintenance" not in view(sim, iccid)["reasons"]
    sim.start_maintenance("cmcc", until="2027-06-01T00:00:00")
    sim.advance(to="2027-05-15")  # expired Feb 1, cancelled May 1 (RET-2) inside the window
    assert view(sim, iccid)["state"] == "cancelled"
    events = len(history_of(sim, iccid))
    sim.advance(to="2027-06-02")
    assert len(history_of(sim, iccid)) == events
