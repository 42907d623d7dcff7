"""Manual stop (人工停用 / 人工开启): MAN-1, and the stacking of ``manual`` with other reasons (LIFE-2, LIFE-3).

LIFE-2: a suspended card carries the *set* of reasons it is stopped for, by their catalogue names.

MAN-1: a manual stop is refused (``manual_suspend_not_allowed``, detail ``reasons``) while the card is expired, in
arrears or over quota; a manual resume only lifts ``manual``. LIFE-3: the card resumes only when no reason is left.
"""

from __future__ import annotations

import random

import pytest

from conftest import history_of, new_imei, open_active, refused, state, t, use, view
from carriersim.simulator import SimError
from carriersim.simulator.identifiers import make_resident_id

QUOTA_KB = 100 * 1024  # CMCC-M100


def last_change(sim, iccid):
    e = [e for e in history_of(sim, iccid) if e["kind"] == "state_changed"][-1]
    return e["old_state"], e["new_state"], e["reasons"], e["change"], e["cause"]


# ---------------------------------------------------------------------------------------------------- MAN-1


def test_man1_suspend_then_resume_an_active_card(sim, acct):
    c = open_active(sim, acct)
    use(sim, c, mb=10)

    sim.suspend(acct, c)
    assert state(sim, c) == ("suspended", ["manual"])
    assert last_change(sim, c) == ("active", "suspended", ["manual"], "added", "api")

    usage = use(sim, c, mb=5)
    assert (usage.accepted_kb, usage.refused_kb, usage.refused_because) == (0, 5 * 1024, "suspended")
    assert view(sim, c)["usage"]["quota_used_mb"] == 10.0  # nothing counted while stopped

    sim.resume(acct, c)
    assert state(sim, c) == ("active", [])
    assert last_change(sim, c) == ("suspended", "active", ["manual"], "removed", "api")
    assert use(sim, c, mb=5).accepted_kb == 5 * 1024


def test_man1_manual_stop_survives_the_cycle_start(sim, acct):
    c = open_active(sim, acct)
    sim.suspend(acct, c)
    sim.advance(to=t("2027-03-15"))
    assert state(sim, c) == ("suspended", ["manual"])  # only a manual resume lifts it
    assert view(sim, c)["balance"] == "85.00"  # the plan still renews: 100 - 3 * 5


def test_man1_suspend_twice_is_already_suspended(sim, acct):
    c = open_active(sim, acct)
    sim.suspend(acct, c)
    before = sim.digest()
    refused(sim, "already_suspended", sim.suspend, acct, c)
    assert sim.digest() == before


def test_man1_resume_without_manual_stop_is_refused(sim, acct):
    c = open_active(sim, acct)
    before = sim.digest()
    err = refused(sim, "not_manually_suspended", sim.resume, acct, c)
    assert err.detail["reasons"] == []
    assert sim.digest() == before

    use(sim, c, kb=QUOTA_KB)  # stopped for quota, not manually
    assert state(sim, c) == ("suspended", ["quota"])
    before = sim.digest()
    err = refused(sim, "not_manually_suspended", sim.resume, acct, c)
    assert err.detail["reasons"] == ["quota"]
    assert sim.digest() == before


def test_man1_suspend_refused_when_expired(sim, acct):
    c = open_active(sim, acct, auto_renew=False)
    sim.advance(to=t("2027-01-31", "23:59:59"))
    sim.suspend(acct, c)  # the last second of a valid plan: allowed
    sim.resume(acct, c)

    sim.advance(to=t("2027-02-01"))
    assert state(sim, c) == ("retained", ["expired"])
    before = sim.digest()
    err = refused(sim, "manual_suspend_not_allowed", sim.suspend, acct, c)
    assert err.detail["reasons"] == ["expired"]
    assert err.status == 409
    assert "expired" in err.message
    assert sim.digest() == before


def test_man1_suspend_refused_when_in_arrears(sim, acct):
    # without auto-suspend, exactly the quota costs nothing: the card stays paid up and can be stopped
    at_quota = open_active(sim, acct, payment="5", auto_suspend=False)
    use(sim, at_quota, kb=QUOTA_KB)
    assert view(sim, at_quota)["balance"] == "0.00"
    sim.suspend(acct, at_quota)
    assert state(sim, at_quota) == ("suspended", ["manual"])

    # one KB more is a started MB of overage (0.29): balance below zero, arrears (QUOTA-5, BILL-4)
    over = open_active(sim, acct, payment="5", auto_suspend=False)
    use(sim, over, kb=QUOTA_KB + 1)
    assert view(sim, over)["balance"] == "-0.29"
    assert state(sim, over) == ("suspended", ["arrears"])
    before = sim.digest()
    err = refused(sim, "manual_suspend_not_allowed", sim.suspend, acct, over)
    assert err.detail["reasons"] == ["arrears"]
    assert sim.digest() == before

    sim.top_up(acct, over, "0.29")  # cmcc resumes on payment; then a manual stop is allowed again
    assert state(sim, over) == ("active", [])
    sim.suspend(acct, over)
    assert state(sim, over) == ("suspended", ["manual"])


def test_man1_suspend_refused_when_over_quota(sim, acct):
    below = open_active(sim, acct)
    use(sim, below, kb=QUOTA_KB - 1)  # one KB short of the quota: still active
    assert state(sim, below) == ("active", [])
    sim.suspend(acct, below)
    assert state(sim, below) == ("suspended", ["manual"])

    full = open_active(sim, acct)
    use(sim, full, kb=QUOTA_KB)
    assert state(sim, full) == ("suspended", ["quota"])
    before = sim.digest()
    err = refused(sim, "manual_suspend_not_allowed", sim.suspend, acct, full)
    assert err.detail["reasons"] == ["quota"]
    assert sim.digest() == before

    sim.buy_addon(acct, full, "CMCC-ADD100")  # QUOTA-3 lifts quota: a manual stop is allowed again
    sim.suspend(acct, full)
    assert state(sim, full) == ("suspended", ["manual"])


def test_man1_refusal_names_every_blocking_reason(sim, acct):
    c = open_active(sim, acct, payment="5", auto_renew=False)
    sim.advance(to=t("2027-02-01"))  # expired, and the retention fee put it in arrears
    assert state(sim, c) == ("retained", ["arrears", "expired"])
    before = sim.digest()
    err = refused(sim, "manual_suspend_not_allowed", sim.suspend, acct, c)
    assert err.detail["reasons"] == ["expired", "arrears"]
    assert "expired" in err.message and "arrears" in err.message
    assert sim.digest() == before


def test_man1_ctcc_arrears_paid_but_not_reactivated_still_refuse(sim, acct):
    c = open_active(sim, acct, "ctcc", "CTCC-M20", payment="2", auto_suspend=False)
    use(sim, c, kb=20 * 1024 + 1)
    assert view(sim, c)["balance"] == "-0.25"
    sim.top_up(acct, c, "1")  # balance 0.75, but ctcc keeps the arrears stop until re-activation
    assert state(sim, c) == ("suspended", ["arrears"])
    err = refused(sim, "manual_suspend_not_allowed", sim.suspend, acct, c)
    assert err.detail["reasons"] == ["arrears"]

    sim.reactivate(acct, c)
    sim.suspend(acct, c)
    assert state(sim, c) == ("suspended", ["manual"])


def test_man1_only_an_activated_card_can_be_stopped(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100")
    before = sim.digest()
    refused(sim, "invalid_state", sim.suspend, acct, c)
    refused(sim, "not_manually_suspended", sim.resume, acct, c)
    assert sim.digest() == before


def test_man1_another_accounts_card_is_not_found(sim, acct, other):
    c = open_active(sim, acct)
    before = sim.digest()
    assert refused(sim, "card_not_found", sim.suspend, other, c).status == 404
    assert sim.digest() == before
    sim.suspend(acct, c)
    before = sim.digest()
    assert refused(sim, "card_not_found", sim.resume, other, c).status == 404
    assert sim.digest() == before


def test_man1_bad_iccid_is_refused(sim, acct):
    before = sim.digest()
    refused(sim, "invalid_iccid", sim.suspend, acct, "8986001234")
    refused(sim, "invalid_input", sim.suspend, acct, 898600)
    assert sim.digest() == before


# ---------------------------------------------------------------------------------------------------- LIFE-3


def test_life3_manual_and_device_stack_either_order(sim, acct):
    bound, stranger, third = new_imei(), new_imei(), new_imei()
    c = open_active(sim, acct, imei=bound)
    sim.suspend(acct, c)
    assert use(sim, c, mb=1, imei=stranger).refused_because == "device"
    assert state(sim, c) == ("suspended", ["manual", "device"])

    sim.resume(acct, c)  # manual lifted, device remains
    assert state(sim, c) == ("suspended", ["device"])
    assert last_change(sim, c) == ("suspended", "suspended", ["manual"], "removed", "api")
    sim.rebind_device(acct, c, stranger)
    assert state(sim, c) == ("active", [])

    # device first, then a manual stop (device does not block it), then the device is cleared first
    assert use(sim, c, mb=1, imei=third).refused_because == "device"
    sim.suspend(acct, c)
    assert state(sim, c) == ("suspended", ["manual", "device"])
    sim.rebind_device(acct, c, third)
    assert state(sim, c) == ("suspended", ["manual"])
    sim.resume(acct, c)
    assert state(sim, c) == ("active", [])


def test_life3_manual_and_region_stack(sim, acct):
    c = open_active(sim, acct)
    sim.suspend(acct, c)
    assert use(sim, c, mb=1, region="CN-XJ").refused_because == "region"
    assert state(sim, c) == ("suspended", ["manual", "region"])
    sim.appeal_region(acct, c)
    assert state(sim, c) == ("suspended", ["manual"])
    sim.resume(acct, c)
    assert state(sim, c) == ("active", [])


def test_life3_manual_and_unverified_stack(sim):
    person = sim.create_account("李雷", kind="personal")
    c = open_active(sim, person)
    sim.suspend(person, c)
    sim.advance(to=t("2027-01-08"))  # cmcc grace: 7 days
    assert state(sim, c) == ("suspended", ["manual", "unverified"])
    sim.resume(person, c)
    assert state(sim, c) == ("suspended", ["unverified"])
    sim.verify_identity(person, c, "李雷", make_resident_id(random.Random(1)))
    assert state(sim, c) == ("active", [])


def test_life3_manual_card_expires_into_retention_with_arrears(sim, acct):
    c = open_active(sim, acct, payment="5", auto_renew=False)
    sim.suspend(acct, c)
    sim.advance(to=t("2027-02-01"))
    assert state(sim, c) == ("retained", ["arrears", "expired", "manual"])

    sim.resume(acct, c)
    assert state(sim, c) == ("retained", ["arrears", "expired"])
    sim.top_up(acct, c, "10")
    assert state(sim, c) == ("retained", ["expired"])
    assert sim.renew(acct, c) == "restored"
    assert state(sim, c) == ("active", [])


def test_life3_renewal_does_not_lift_a_manual_stop(sim, acct):
    c = open_active(sim, acct, auto_renew=False)
    sim.suspend(acct, c)
    sim.advance(to=t("2027-02-03"))
    assert state(sim, c) == ("retained", ["expired", "manual"])
    sim.renew(acct, c)
    assert state(sim, c) == ("suspended", ["manual"])
    sim.resume(acct, c)
    assert state(sim, c) == ("active", [])


def test_life3_manual_pool_member_also_stopped_for_quota(sim, acct):
    a, b = open_active(sim, acct), open_active(sim, acct)
    pool = sim.create_pool(acct, "cmcc", "fleet")
    sim.add_to_pool(acct, pool, a)
    sim.add_to_pool(acct, pool, b)
    sim.suspend(acct, b)
    use(sim, a, kb=2 * QUOTA_KB)  # the whole pool
    assert state(sim, a) == ("suspended", ["quota"])
    assert state(sim, b) == ("suspended", ["quota", "manual"])

    sim.resume(acct, b)
    assert state(sim, b) == ("suspended", ["quota"])
    sim.advance(to=t("2027-02-01"))  # QUOTA-2/POOL-1: the new cycle lifts quota
    assert state(sim, a) == ("active", []) and state(sim, b) == ("active", [])


def test_life3_reasons_are_lifted_one_event_each(sim, acct):
    c = open_active(sim, acct)
    sim.suspend(acct, c)
    use(sim, c, region="CN-GX")
    use(sim, c, imei=new_imei())
    assert view(sim, c)["reasons"] == ["manual", "region", "device"]
    first = len(history_of(sim, c))
    sim.appeal_region(acct, c)
    sim.resume(acct, c)
    sim.rebind_device(acct, c, new_imei())
    changes = [(e["reasons"], e["change"], e["new_state"]) for e in history_of(sim, c)[first:]
               if e["kind"] == "state_changed"]
    assert changes == [(["region"], "removed", "suspended"), (["manual"], "removed", "suspended"),
                       (["device"], "removed", "active")]


# ---------------------------------------------------------------------------------------------------- LIFE-2


def _stop_for(sim, acct, person, reason):
    """A card stopped for exactly ``reason`` (by the rule that owns it); returns (iccid, expected state)."""
    if reason == "unverified":
        c = open_active(sim, person)
        sim.advance(to=t("2027-01-08"))
        return c, "suspended"
    if reason == "arrears":
        c = open_active(sim, acct, payment="5", auto_suspend=False)
        use(sim, c, kb=QUOTA_KB + 1)
        return c, "suspended"
    c = open_active(sim, acct, auto_renew=(reason != "expired"))
    if reason == "quota":
        use(sim, c, kb=QUOTA_KB)
    elif reason == "expired":
        sim.advance(to=t("2027-02-01"))
        return c, "retained"
    elif reason == "manual":
        sim.suspend(acct, c)
    elif reason == "region":
        use(sim, c, region="CN-XZ")
    elif reason == "device":
        use(sim, c, imei=new_imei())
    elif reason == "lost":
        sim.report_lost(acct, c)
    elif reason == "maintenance":
        sim.start_maintenance("cmcc", duration="1 hour")
    return c, "suspended"


@pytest.mark.parametrize("reason", ["quota", "arrears", "expired", "manual", "unverified", "region", "device",
                                    "lost", "maintenance"])
def test_life2_card_carries_the_reason_it_is_stopped_for(sim, acct, reason):
    person = sim.create_account("韩梅梅", kind="personal")
    c, expected_state = _stop_for(sim, acct, person, reason)
    assert state(sim, c) == (expected_state, [reason])
    added = [e for e in history_of(sim, c) if e["kind"] == "state_changed" and e["change"] == "added"]
    assert [e["reasons"] for e in added] == [[reason]]
    assert use(sim, c, kb=1).accepted_kb == 0


def test_life2_reasons_are_a_set_listed_in_catalogue_order(sim):
    person = sim.create_account("韩梅梅", kind="personal")
    c = open_active(sim, person, payment="5", auto_renew=False)
    # added in an order unlike the catalogue's
    use(sim, c, imei=new_imei())  # device
    sim.suspend(person, c)  # manual
    use(sim, c, region="CN-XJ")  # region
    use(sim, c, region="CN-GX")  # region again: still one reason
    sim.advance(to=t("2027-01-08"))  # unverified
    sim.report_lost(person, c)  # lost
    sim.advance(to=t("2027-02-01"))  # expired, and the retention fee: arrears
    sim.start_maintenance("cmcc", duration="1 hour")  # maintenance
    card = view(sim, c)
    assert card["reasons"] == ["arrears", "expired", "manual", "unverified", "region", "device", "lost",
                               "maintenance"]
    assert card["state"] == "retained"  # expired under retention wins the state; the others still stack
    sim.advance(by="1 hour")
    assert view(sim, c)["reasons"] == ["arrears", "expired", "manual", "unverified", "region", "device", "lost"]


def test_life2_carrier_hold_stacks_and_only_the_carrier_releases_it(sim, acct):
    iccid = open_active(sim, acct)
    sim.carrier_bar(iccid, note="fraud check")
    sim.suspend(acct, iccid)
    assert view(sim, iccid)["reasons"] == ["manual", "carrier"]
    sim.resume(acct, iccid)
    assert (view(sim, iccid)["state"], view(sim, iccid)["reasons"]) == ("suspended", ["carrier"])
    with pytest.raises(SimError) as err:
        sim.carrier_bar(iccid)
    assert err.value.code == "already_barred"
    sim.carrier_release(iccid)
    assert view(sim, iccid)["state"] == "active"
    last = history_of(sim, iccid)[-1]
    assert (last["cause"], last["change"], last["reasons"]) == ("world", "removed", ["carrier"])
    with pytest.raises(SimError) as err:
        sim.carrier_release(iccid)
    assert err.value.code == "not_barred"
