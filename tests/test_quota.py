"""Data quota: QUOTA-1 (auto-suspend at the quota), QUOTA-2 (resume at the next cycle), QUOTA-3 (add-ons),
QUOTA-4 (next term paid early), QUOTA-5 (overage billed per started MB), POOL-1 (shared pools), ALERT-1 (usage
alerts at 80/90/100 %).

Rule ids: QUOTA-1, QUOTA-2, QUOTA-3, QUOTA-4, QUOTA-5, POOL-1, ALERT-1.
"""

from __future__ import annotations

import pytest

from conftest import events_of, history_of, ledger_of, open_active, refused, state_events, use, view
from carriersim.simulator import Simulation

KB = 1024  # KB per MB
M100 = 100 * KB  # CMCC-M100's quota in KB


def card_alerts(sim: Simulation, iccid: str) -> list[int]:
    return [e["detail"]["threshold"] for e in history_of(sim, iccid) if e["kind"] == "alert"]


def pool_alerts(sim: Simulation, pool: str) -> list[dict]:
    return [e for e in events_of(sim) if e["kind"] == "alert" and (e.get("detail") or {}).get("pool") == pool]


def charges(sim: Simulation, iccid: str, item: str) -> list[str]:
    return [r["amount"] for r in ledger_of(sim, iccid) if r["item"] == item]


# ------------------------------------------------------------------ QUOTA-1


def test_quota1_one_kb_under_the_quota_keeps_the_card_active(sim, acct):
    iccid = open_active(sim, acct)
    r = use(sim, iccid, kb=M100 - 1)
    assert (r.accepted_kb, r.refused_kb, r.refused_because, r.state, r.reasons) == (M100 - 1, 0, None, "active", [])
    assert view(sim, iccid)["usage"]["quota_used_mb"] == round((M100 - 1) / KB, 3)


def test_quota1_exactly_reaching_the_quota_stops_the_card(sim, acct):
    iccid = open_active(sim, acct)
    r = use(sim, iccid, kb=M100)
    assert (r.accepted_kb, r.refused_kb, r.refused_because) == (M100, 0, None)
    assert (r.state, r.reasons) == ("suspended", ["quota"])
    last = state_events(sim, iccid)[-1]
    assert (last["cause"], last["old_state"], last["new_state"], last["reasons"], last["change"]) == (
        "usage", "active", "suspended", ["quota"], "added")
    assert last["detail"]["used_kb"] == M100 and last["detail"]["quota_kb"] == M100


def test_quota1_the_last_kb_reaches_the_quota(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, kb=M100 - 1)
    assert view(sim, iccid)["state"] == "active"
    r = use(sim, iccid, kb=1)
    assert r.accepted_kb == 1 and r.reasons == ["quota"]
    r = use(sim, iccid, kb=1)
    assert (r.accepted_kb, r.refused_kb, r.refused_because) == (0, 1, "suspended")


def test_quota1_usage_past_the_quota_is_cut_and_not_charged(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, mb=99)
    ledger = ledger_of(sim, iccid)
    r = use(sim, iccid, mb=5)
    assert (r.accepted_kb, r.refused_kb, r.refused_because) == (KB, 4 * KB, "quota")
    assert view(sim, iccid)["usage"]["cycle_mb"] == 100.0
    assert ledger_of(sim, iccid) == ledger
    assert view(sim, iccid)["balance"] == "95.00"


def test_quota1_without_auto_suspend_the_card_never_stops_for_quota(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)
    r = use(sim, iccid, mb=150)
    assert (r.accepted_kb, r.refused_kb, r.state, r.reasons) == (150 * KB, 0, "active", [])


def test_quota1_auto_suspend_is_chosen_per_card_at_opening(sim, acct):
    on = open_active(sim, acct)
    off = open_active(sim, acct, auto_suspend=False)
    assert view(sim, on)["auto_suspend"] is True and view(sim, off)["auto_suspend"] is False
    assert [e["detail"]["auto_suspend"] for e in history_of(sim, off) if e["kind"] == "card_opened"] == [False]


# ------------------------------------------------------------------ QUOTA-2


def test_quota2_resumes_at_the_next_cycle_start_not_before(sim, acct):
    iccid = open_active(sim, acct, payment="10")
    sim.advance(to="2027-01-15T12:00:00")
    use(sim, iccid, mb=100)
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["reasons"] == ["quota"]
    assert use(sim, iccid, kb=1).refused_because == "suspended"
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["reasons"] == []
    assert card["usage"]["quota_used_mb"] == 0.0 and card["usage"]["cycle_mb"] == 0.0
    last = state_events(sim, iccid)[-1]
    assert (last["time"], last["cause"], last["reasons"], last["change"]) == (
        "2027-02-01T00:00:00+08:00", "clock", ["quota"], "removed")
    assert use(sim, iccid, mb=100).accepted_kb == M100


def test_quota2_no_human_action_needed_each_month(sim, acct):
    iccid = open_active(sim, acct, "cucc", "CUCC-M50", payment="20")
    for month in ("2027-02-01", "2027-03-01", "2027-04-01"):
        use(sim, iccid, mb=60)
        assert view(sim, iccid)["reasons"] == ["quota"]
        sim.advance(to=month)
        assert view(sim, iccid)["state"] == "active", month


def test_quota2_term_quota_card_stays_stopped_until_a_new_term(sim, acct):
    iccid = open_active(sim, acct, "cucc", "CUCC-A6G", payment="80", auto_renew=False)
    use(sim, iccid, mb=6144)
    sim.advance(to="2027-02-01")
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(to="2027-06-01")
    assert view(sim, iccid)["reasons"] == ["quota"]


def test_quota2_does_not_lift_other_reasons(sim, acct):
    iccid = open_active(sim, acct, payment="5", auto_renew=False)  # term ends unrenewed at the cycle start
    use(sim, iccid, mb=100)
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert "quota" not in card["reasons"] and "expired" in card["reasons"]
    assert card["state"] == "retained"


# ------------------------------------------------------------------ QUOTA-3 add-ons


def test_quota3_addon_lifts_quota_at_once(sim, acct):
    iccid = open_active(sim, acct)
    sim.advance(to="2027-01-10T08:00:00")
    use(sim, iccid, mb=100)
    sim.buy_addon(acct, iccid, "CMCC-ADD100")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["reasons"] == []
    assert card["balance"] == "90.00"
    assert card["usage"]["addon_mb"] == 100.0 and card["usage"]["quota_mb"] == 200.0
    last = state_events(sim, iccid)[-1]
    assert (last["time"], last["cause"], last["reasons"], last["change"]) == (
        "2027-01-10T08:00:00+08:00", "api", ["quota"], "removed")
    assert charges(sim, iccid, "CMCC-ADD100") == ["-5.00"]
    r = use(sim, iccid, mb=101)
    assert r.accepted_kb == M100 and r.refused_because == "quota" and r.reasons == ["quota"]


def test_quota3_addon_on_an_active_card_raises_its_quota(sim, acct):
    iccid = open_active(sim, acct, "ctcc", "CTCC-M20", payment="10")
    sim.buy_addon(acct, iccid, "CTCC-ADD100")
    assert view(sim, iccid)["usage"]["quota_mb"] == 120.0
    assert use(sim, iccid, kb=120 * KB - 1).state == "active"
    assert use(sim, iccid, kb=1).state == "suspended"


def test_quota3_addon_with_exactly_its_price(sim, acct):
    iccid = open_active(sim, acct, payment="10")  # balance 5.00
    use(sim, iccid, mb=100)
    sim.buy_addon(acct, iccid, "CMCC-ADD100")
    assert view(sim, iccid)["balance"] == "0.00" and view(sim, iccid)["state"] == "active"


def test_quota3_addon_refused_one_fen_short_changes_nothing(sim, acct):
    iccid = open_active(sim, acct, payment="9.99")  # balance 4.99
    use(sim, iccid, mb=100)
    e = refused(sim, "insufficient_balance", sim.buy_addon, acct, iccid, "CMCC-ADD100")
    assert e.status == 402
    assert view(sim, iccid)["reasons"] == ["quota"]


def test_quota3_addon_refused_while_in_arrears_changes_nothing(sim, acct):
    iccid = open_active(sim, acct, payment="5", auto_suspend=False)
    use(sim, iccid, kb=M100 + 1)
    assert view(sim, iccid)["reasons"] == ["arrears"] and view(sim, iccid)["balance"] == "-0.29"
    refused(sim, "insufficient_balance", sim.buy_addon, acct, iccid, "CMCC-ADD100")
    card = view(sim, iccid)
    assert card["balance"] == "-0.29" and card["usage"]["addon_mb"] == 0.0 and card["reasons"] == ["arrears"]


def test_quota3_addon_lasts_only_the_cycle(sim, acct):
    iccid = open_active(sim, acct)
    sim.buy_addon(acct, iccid, "CMCC-ADD1G")
    assert view(sim, iccid)["usage"]["quota_mb"] == 1124.0
    sim.advance(to="2027-02-01")
    usage = view(sim, iccid)["usage"]
    assert usage["addon_mb"] == 0.0 and usage["quota_mb"] == 100.0
    assert use(sim, iccid, mb=101).accepted_kb == M100


@pytest.mark.parametrize("code", ["CMCC-ADD999", "CTCC-ADD100", "", "cmcc-add100"])
def test_quota3_unknown_addon_refused(sim, acct, code):
    iccid = open_active(sim, acct)
    e = refused(sim, "addon_not_found", sim.buy_addon, acct, iccid, code)
    assert e.status == 404


def test_quota3_addon_refused_on_expired_card(sim, acct):
    iccid = open_active(sim, acct, auto_renew=False)
    sim.advance(to="2027-02-01")
    refused(sim, "addon_not_allowed", sim.buy_addon, acct, iccid, "CMCC-ADD100")


def test_quota3_addon_refused_on_card_not_activated(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="50")
    refused(sim, "addon_not_allowed", sim.buy_addon, acct, iccid, "CMCC-ADD100")


# ------------------------------------------------------------------ QUOTA-4 next term paid early


def test_quota4_renew_on_quota_card_resumes_next_cycle_not_now(sim, acct):
    iccid = open_active(sim, acct, payment="10")  # balance 5
    use(sim, iccid, mb=100)
    assert sim.renew(acct, iccid) == "prepaid"
    card = view(sim, iccid)
    assert card["state"] == "suspended" and card["reasons"] == ["quota"]  # not now
    assert card["balance"] == "0.00" and card["prepaid_terms"] == 1
    assert use(sim, iccid, kb=1).refused_because == "suspended"
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["prepaid_terms"] == 0
    assert card["balance"] == "0.00"  # the prepaid term, no second charge
    assert card["term_end"] == "2027-03-01T00:00:00+08:00"


def test_quota4_term_quota_card_resumes_at_next_cycle_with_the_prepaid_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="72")  # balance 36
    sim.advance(to="2027-01-20")
    use(sim, iccid, mb=3072)
    assert sim.renew(acct, iccid) == "prepaid"
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, iccid)["reasons"] == ["quota"]
    sim.advance(by="1 second")
    card = view(sim, iccid)
    assert card["state"] == "active" and card["prepaid_terms"] == 0 and card["balance"] == "0.00"
    assert card["term_start"] == "2027-02-01T00:00:00+08:00"
    assert card["term_end"] == "2027-05-01T00:00:00+08:00"
    assert card["usage"]["quota_used_mb"] == 0.0
    renewed = [e for e in history_of(sim, iccid) if e["kind"] == "renewed"]
    assert [(e["time"], e["cause"]) for e in renewed] == [("2027-01-20T00:00:00+08:00", "api"),
                                                          ("2027-02-01T00:00:00+08:00", "clock")]
    sim.advance(to="2027-04-01")  # the old term's end is moot now: no charge, no expiry
    assert view(sim, iccid)["state"] == "active" and view(sim, iccid)["balance"] == "0.00"


def test_quota4_term_quota_card_not_stopped_keeps_its_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="72")
    use(sim, iccid, mb=3000)
    sim.renew(acct, iccid)
    sim.advance(to="2027-02-01")
    card = view(sim, iccid)
    assert card["prepaid_terms"] == 1 and card["term_end"] == "2027-04-01T00:00:00+08:00"


def test_quota4_renew_refused_without_funds_keeps_card_stopped(sim, acct):
    iccid = open_active(sim, acct, payment="9.99")
    use(sim, iccid, mb=100)
    refused(sim, "insufficient_balance", sim.renew, acct, iccid)


# ------------------------------------------------------------------ QUOTA-5 overage


def test_quota5_overage_billed_per_started_mb(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)  # balance 95
    use(sim, iccid, mb=100)
    assert charges(sim, iccid, "overage") == []
    use(sim, iccid, kb=1)
    assert charges(sim, iccid, "overage") == ["-0.29"]
    use(sim, iccid, kb=KB - 1)  # exactly 1 MB over: still one started MB
    assert charges(sim, iccid, "overage") == ["-0.29"]
    use(sim, iccid, kb=1)  # 1 MB + 1 KB over: the second MB
    assert charges(sim, iccid, "overage") == ["-0.29", "-0.29"]
    assert view(sim, iccid)["balance"] == "94.42"
    charge = [e for e in history_of(sim, iccid) if e["kind"] == "charge"][-1]
    assert charge["cause"] == "usage" and charge["detail"]["mb"] == 1


def test_quota5_one_report_over_the_quota_billed_in_one_charge(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)
    use(sim, iccid, mb=99)
    r = use(sim, iccid, kb=11 * KB + 512)  # 10.5 MB past the quota: 11 started MB
    assert r.accepted_kb == 11 * KB + 512 and r.refused_kb == 0
    assert charges(sim, iccid, "overage") == ["-3.19"]
    assert [e["detail"]["mb"] for e in history_of(sim, iccid) if e["kind"] == "charge" and e["cause"] == "usage"] == [11]


def test_quota5_overage_uses_the_carrier_rate(sim, acct):
    cucc = open_active(sim, acct, "cucc", "CUCC-M50", payment="10", auto_suspend=False)
    ctcc = open_active(sim, acct, "ctcc", "CTCC-M20", payment="10", auto_suspend=False)
    use(sim, cucc, kb=50 * KB + 1)
    use(sim, ctcc, kb=20 * KB + 1)
    assert charges(sim, cucc, "overage") == ["-0.30"] and charges(sim, ctcc, "overage") == ["-0.25"]


def test_quota5_overage_counter_resets_each_cycle(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)
    use(sim, iccid, kb=M100 + 10)
    sim.advance(to="2027-02-01")
    use(sim, iccid, kb=M100)
    assert charges(sim, iccid, "overage") == ["-0.29"]  # no overage yet in February
    use(sim, iccid, kb=1)
    assert charges(sim, iccid, "overage") == ["-0.29", "-0.29"]


def test_quota5_overage_counts_against_the_addon_raised_quota(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)
    sim.buy_addon(acct, iccid, "CMCC-ADD100")
    use(sim, iccid, mb=200)
    assert charges(sim, iccid, "overage") == []
    use(sim, iccid, kb=1)
    assert charges(sim, iccid, "overage") == ["-0.29"]


def test_quota5_overage_drives_the_card_into_arrears(sim, acct):
    iccid = open_active(sim, acct, payment="6", auto_suspend=False)  # balance 1.00: 3 MB of overage fit
    use(sim, iccid, mb=103)
    assert view(sim, iccid)["balance"] == "0.13" and view(sim, iccid)["state"] == "active"
    r = use(sim, iccid, kb=1)
    assert r.accepted_kb == 1 and r.reasons == ["arrears"]
    assert view(sim, iccid)["balance"] == "-0.16"
    assert use(sim, iccid, mb=1).refused_because == "suspended"


# ------------------------------------------------------------------ POOL-1


def _pool(sim: Simulation, acct: str, *iccids: str) -> str:
    pool = sim.create_pool(acct, "cmcc", "fleet")
    for iccid in iccids:
        sim.add_to_pool(acct, pool, iccid)
    return pool


def test_pool1_quota_is_the_sum_of_members_monthly_quotas(sim, acct):
    a = open_active(sim, acct)
    b = open_active(sim, acct, "cmcc", "CMCC-M1G", payment="15")
    c = open_active(sim, acct, "cmcc", "CMCC-Q300", payment="24")
    pool = _pool(sim, acct, a, b, c)
    assert view(sim, a)["usage"]["pool"] == {"id": pool, "used_mb": 0.0, "quota_mb": 1424.0}
    use(sim, b, mb=1000)
    use(sim, a, mb=200)  # beyond a's own 100 MB: the pool carries it
    assert view(sim, c)["usage"]["pool"]["used_mb"] == 1200.0
    assert view(sim, a)["state"] == "active"


def test_pool1_one_card_exhausting_the_pool_stops_every_auto_suspend_member(sim, acct):
    a, b, c = (open_active(sim, acct) for _ in range(3))
    free = open_active(sim, acct, auto_suspend=False)
    pool = _pool(sim, acct, a, b, c, free)  # 400 MB
    use(sim, a, kb=400 * KB - 1)
    assert all(view(sim, x)["state"] == "active" for x in (a, b, c, free))
    r = use(sim, a, mb=5)
    assert r.accepted_kb == 1 and r.refused_because == "quota"
    for x in (a, b, c):
        assert view(sim, x)["reasons"] == ["quota"], x
        last = state_events(sim, x)[-1]
        assert last["cause"] == "usage" and last["detail"]["pool"] == pool
    assert view(sim, free)["state"] == "active"  # no auto-suspend: it goes on, paying overage
    assert use(sim, b, kb=1).refused_because == "suspended"
    r = use(sim, free, mb=1)
    assert r.accepted_kb == KB and r.state == "active"
    assert charges(sim, free, "overage") == ["-0.29"]
    assert charges(sim, a, "overage") == []


def test_pool1_members_resume_at_next_cycle_start(sim, acct):
    a, b = (open_active(sim, acct) for _ in range(2))
    _pool(sim, acct, a, b)
    use(sim, b, mb=200)
    sim.advance(to="2027-01-31T23:59:59")
    assert view(sim, a)["reasons"] == ["quota"] and view(sim, b)["reasons"] == ["quota"]
    sim.advance(by="1 second")
    for x in (a, b):
        card = view(sim, x)
        assert card["state"] == "active" and card["usage"]["pool"]["used_mb"] == 0.0
        assert state_events(sim, x)[-1]["cause"] == "clock"
    assert use(sim, a, mb=200).accepted_kb == 200 * KB


def test_pool1_addon_bought_by_any_member_lifts_all(sim, acct):
    a, b, c = (open_active(sim, acct) for _ in range(3))
    _pool(sim, acct, a, b, c)
    use(sim, a, mb=300)
    sim.buy_addon(acct, c, "CMCC-ADD100")  # c never used a byte
    for x in (a, b, c):
        assert view(sim, x)["state"] == "active", x
        assert view(sim, x)["usage"]["pool"]["quota_mb"] == 400.0
    assert view(sim, c)["balance"] == "90.00" and view(sim, a)["balance"] == "95.00"
    r = use(sim, b, mb=150)
    assert r.accepted_kb == 100 * KB and all(view(sim, x)["reasons"] == ["quota"] for x in (a, b, c))
    sim.advance(to="2027-02-01")
    assert view(sim, a)["usage"]["pool"]["quota_mb"] == 300.0  # the add-on lasted the cycle


def test_pool1_member_activated_after_exhaustion_stops_when_refused(sim, acct):
    a = open_active(sim, acct)
    late = sim.open_card(acct, "cmcc", "CMCC-M100", payment="10")
    _pool(sim, acct, a, late)
    use(sim, a, mb=200)
    assert view(sim, a)["reasons"] == ["quota"] and view(sim, late)["state"] == "ready"
    sim.activate(acct, late)
    r = use(sim, late, mb=1)
    assert (r.accepted_kb, r.refused_because) == (0, "quota")
    assert (r.state, r.reasons) == ("suspended", ["quota"])  # refused for quota means stopped for quota
    sim.advance(to="2027-02-01")
    assert view(sim, late)["state"] == "active"


def test_pool1_member_joining_an_exhausted_pool_brings_its_quota(sim, acct):
    a, b = (open_active(sim, acct) for _ in range(2))
    pool = _pool(sim, acct, a, b)
    use(sim, a, mb=200)
    c = open_active(sim, acct)
    sim.add_to_pool(acct, pool, c)
    assert view(sim, a)["usage"]["pool"] == {"id": pool, "used_mb": 200.0, "quota_mb": 300.0}
    assert all(view(sim, x)["state"] == "active" for x in (a, b, c))
    r = use(sim, b, mb=150)
    assert r.accepted_kb == 100 * KB
    assert all(view(sim, x)["reasons"] == ["quota"] for x in (a, b, c))


def test_pool1_member_without_auto_suspend_pays_only_past_the_pool_quota(sim, acct):
    free = open_active(sim, acct, auto_suspend=False)
    mate = open_active(sim, acct)
    _pool(sim, acct, free, mate)  # 200 MB
    use(sim, free, mb=200)  # twice its own quota, within the pool's
    assert charges(sim, free, "overage") == []
    assert view(sim, mate)["reasons"] == ["quota"]
    use(sim, free, kb=1)
    assert charges(sim, free, "overage") == ["-0.29"]


def test_pool1_overage_billed_before_joining_is_not_counted_twice_or_given_away(sim, acct):
    free = open_active(sim, acct, auto_suspend=False)
    use(sim, free, mb=105)  # 5 MB of its own overage, billed
    assert charges(sim, free, "overage") == ["-1.45"]
    mate = open_active(sim, acct)
    _pool(sim, acct, free, mate)
    use(sim, free, mb=200)  # the pool's 200 MB (usage before joining is not the pool's)
    assert charges(sim, free, "overage") == ["-1.45"]
    use(sim, free, mb=3)  # 3 MB past the pool's quota: billed
    assert charges(sim, free, "overage") == ["-1.45", "-0.87"]


def test_pool1_pool_counts_usage_per_cycle_not_per_card(sim, acct):
    a, b = (open_active(sim, acct) for _ in range(2))
    _pool(sim, acct, a, b)
    use(sim, a, mb=120)
    use(sim, b, mb=79)
    assert view(sim, a)["state"] == "active"
    assert view(sim, b)["usage"]["pool"]["used_mb"] == 199.0


def test_pool1_join_refusals_change_nothing(sim, acct, other):
    a = open_active(sim, acct)
    term = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="36")
    ctcc = open_active(sim, acct, "ctcc", "CTCC-M20", payment="2")
    theirs = open_active(sim, other)
    pool = _pool(sim, acct, a)
    second = sim.create_pool(acct, "cmcc", "second")
    refused(sim, "pool_mismatch", sim.add_to_pool, acct, pool, term)
    refused(sim, "pool_mismatch", sim.add_to_pool, acct, pool, ctcc)
    refused(sim, "already_in_pool", sim.add_to_pool, acct, pool, a)
    refused(sim, "already_in_pool", sim.add_to_pool, acct, second, a)
    refused(sim, "card_not_found", sim.add_to_pool, acct, pool, theirs)
    refused(sim, "pool_not_found", sim.add_to_pool, other, pool, theirs)
    refused(sim, "pool_not_found", sim.add_to_pool, acct, "pool-9999", a)


# ------------------------------------------------------------------ ALERT-1


def test_alert1_thresholds_at_exact_kb(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, kb=81919)  # 80 % of 102400 KB is 81920
    assert card_alerts(sim, iccid) == []
    use(sim, iccid, kb=1)
    assert card_alerts(sim, iccid) == [80]
    alert = [e for e in history_of(sim, iccid) if e["kind"] == "alert"][0]
    assert alert["cause"] == "usage"
    assert alert["detail"] == {"threshold": 80, "used_kb": 81920, "quota_kb": M100, "scope": "card"}
    use(sim, iccid, kb=92159 - 81920)
    assert card_alerts(sim, iccid) == [80]
    use(sim, iccid, kb=1)
    assert card_alerts(sim, iccid) == [80, 90]
    use(sim, iccid, kb=M100 - 92160 - 1)
    assert card_alerts(sim, iccid) == [80, 90]
    use(sim, iccid, kb=1)
    assert card_alerts(sim, iccid) == [80, 90, 100]


def test_alert1_one_big_report_crosses_all_thresholds_in_order(sim, acct):
    iccid = open_active(sim, acct, "ctcc", "CTCC-M300", payment="8")
    use(sim, iccid, mb=500)
    assert card_alerts(sim, iccid) == [80, 90, 100]
    seqs = [e["seq"] for e in history_of(sim, iccid) if e["kind"] in ("alert", "state_changed")][-4:]
    kinds = [e["kind"] for e in history_of(sim, iccid) if e["seq"] in seqs]
    assert kinds == ["alert", "alert", "alert", "state_changed"]  # the warning comes before the stop


def test_alert1_once_per_threshold_per_cycle(sim, acct):
    iccid = open_active(sim, acct, auto_suspend=False)
    for _ in range(5):
        use(sim, iccid, mb=30)
    assert card_alerts(sim, iccid) == [80, 90, 100]
    sim.advance(to="2027-02-01")
    use(sim, iccid, mb=85)
    assert card_alerts(sim, iccid) == [80, 90, 100, 80]
    assert [e["time"] for e in history_of(sim, iccid) if e["kind"] == "alert"][-1] == "2027-02-01T00:00:00+08:00"


def test_alert1_addon_does_not_repeat_alerts_in_the_cycle(sim, acct):
    iccid = open_active(sim, acct)
    use(sim, iccid, mb=100)
    sim.buy_addon(acct, iccid, "CMCC-ADD100")
    use(sim, iccid, mb=100)
    assert card_alerts(sim, iccid) == [80, 90, 100]


def test_alert1_term_quota_alerts_once_per_term(sim, acct):
    iccid = open_active(sim, acct, "cmcc", "CMCC-Q3G", payment="72")
    quota = 3072 * KB
    at80, at90 = -(-quota * 80 // 100), -(-quota * 90 // 100)  # the first KB at or past 80 % / 90 %
    use(sim, iccid, kb=at80 - 1)
    assert card_alerts(sim, iccid) == []
    use(sim, iccid, kb=1)
    assert card_alerts(sim, iccid) == [80]
    sim.advance(to="2027-02-01")
    use(sim, iccid, kb=at90 - at80)  # the term's counter carries on: 90 % only, no second 80
    assert card_alerts(sim, iccid) == [80, 90]
    sim.advance(to="2027-04-01")  # a new term: alerts again
    use(sim, iccid, kb=at80)
    assert card_alerts(sim, iccid) == [80, 90, 80]


def test_alert1_pool_alerts_once_per_threshold_per_cycle(sim, acct):
    a, b = (open_active(sim, acct) for _ in range(2))
    pool = _pool(sim, acct, a, b)  # 200 MB: 80 % = 163840 KB
    use(sim, a, kb=163839)
    assert pool_alerts(sim, pool) == []
    use(sim, b, kb=1)
    [alert] = pool_alerts(sim, pool)
    assert alert["iccid"] is None and alert["cause"] == "usage"
    assert alert["detail"] == {"threshold": 80, "used_kb": 163840, "quota_kb": 200 * KB, "scope": "pool",
                               "pool": pool, "by": b}
    use(sim, a, mb=50)
    assert [e["detail"]["threshold"] for e in pool_alerts(sim, pool)] == [80, 90, 100]
    sim.advance(to="2027-02-01")
    use(sim, a, mb=170)
    assert [e["detail"]["threshold"] for e in pool_alerts(sim, pool)] == [80, 90, 100, 80]
