"""Compliance rules: KYC-1 real name (实名认证), BIND-1 device binding (机卡绑定), REG-1 restricted regions (使用禁区).

KYC-1: an unverified card's deadline is activation + grace_days (cmcc 7, cucc 15, ctcc 10) at the same local time of
day; at the deadline it is suspended for ``unverified``; verify_identity restores it.
BIND-1: the first activation (or first usage without an IMEI at activation) binds; another IMEI -> ``device``, refused;
rebind clears it and counts a device change.
REG-1: usage from a carrier's restricted region is refused and suspends for ``region``; neither going back nor time
lifts it, only appeal_region does.
"""

from __future__ import annotations

import random

import pytest
import yaml

from conftest import changes, history_of, new_imei, open_active, refused, state, t, use, view
from carriersim.simulator import Simulation
from carriersim.simulator.identifiers import make_credit_code, make_resident_id
from carriersim.simulator.profile import parse_profile

RESTRICTED = {"cmcc": {"CN-XJ", "CN-FJ", "CN-GX", "CN-XZ"}, "cucc": {"CN-XJ", "CN-XZ"},
              "ctcc": {"CN-XJ", "CN-XZ", "CN-FJ"}}
PLAN = {"cmcc": "CMCC-M100", "cucc": "CUCC-M50", "ctcc": "CTCC-M20"}


@pytest.fixture
def person(sim):
    """An unverified personal account: its cards start unverified."""
    return sim.create_account("李雷", kind="personal")


@pytest.fixture
def rid():
    return make_resident_id(random.Random(7))


# ---------------------------------------------------------------------------------------------------- KYC-1


@pytest.mark.parametrize("carrier, grace", [("cmcc", 7), ("cucc", 15), ("ctcc", 10)])
def test_kyc1_unverified_card_suspended_at_the_grace_deadline(sim, person, carrier, grace):
    sim.advance(to=t("2027-01-04", "09:30:00"))
    c = open_active(sim, person, carrier, PLAN[carrier])
    deadline_day = f"2027-01-{4 + grace:02d}"
    card = view(sim, c)
    assert card["verified"] is False
    assert card["real_name_deadline"] == t(deadline_day, "09:30:00")  # the same time of day

    sim.advance(to=t(f"2027-01-{3 + grace:02d}", "09:30:00"))  # grace_days - 1 days after activation
    assert state(sim, c) == ("active", [])
    sim.advance(to=t(deadline_day, "09:29:59"))
    assert state(sim, c) == ("active", [])

    sim.advance(to=t(deadline_day, "09:30:00"))
    assert state(sim, c) == ("suspended", ["unverified"])
    assert changes(sim, c)[-1] == ("active", "suspended", ["unverified"], "added", "clock", t(deadline_day, "09:30:00"))

    sim.advance(to=t(f"2027-01-{5 + grace:02d}", "09:30:00"))  # a day later: still suspended
    assert state(sim, c) == ("suspended", ["unverified"])
    usage = use(sim, c, mb=1)
    assert (usage.accepted_kb, usage.refused_because) == (0, "suspended")


def test_kyc1_verification_restores_the_card(sim, person, rid):
    c = open_active(sim, person)
    sim.advance(to=t("2027-01-10"))
    assert state(sim, c) == ("suspended", ["unverified"])

    mark = len(history_of(sim, c))
    sim.verify_identity(person, c, "李雷", rid)
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["verified"]) == ("active", [], True)
    assert card["real_name_deadline"] is None
    kinds = [e["kind"] for e in history_of(sim, c)[mark:]]
    assert kinds == ["identity_verified", "state_changed"]
    assert changes(sim, c, mark) == [("suspended", "active", ["unverified"], "removed", "api", t("2027-01-10"))]
    assert use(sim, c, mb=1).accepted_kb == 1024


def test_kyc1_verified_within_grace_is_never_suspended(sim, person, rid):
    c = open_active(sim, person)
    sim.advance(to=t("2027-01-07", "23:59:59"))  # the last second of the grace period
    sim.verify_identity(person, c, "李雷", rid)
    sim.advance(to=t("2027-03-01"))
    assert state(sim, c) == ("active", [])
    assert not any("unverified" in e.get("reasons", []) for e in history_of(sim, c))


def test_kyc1_deadline_counts_from_activation_not_from_opening(sim, person):
    c = sim.open_card(person, "cmcc", "CMCC-M100")
    assert view(sim, c)["real_name_deadline"] is None  # not activated yet: no grace running
    sim.advance(to=t("2027-01-10", "15:00:00"))
    assert state(sim, c) == ("ready", [])
    sim.activate(person, c, new_imei())
    assert view(sim, c)["real_name_deadline"] == t("2027-01-17", "15:00:00")
    sim.advance(to=t("2027-01-17", "14:59:59"))
    assert state(sim, c) == ("active", [])
    sim.advance(to=t("2027-01-17", "15:00:00"))
    assert state(sim, c) == ("suspended", ["unverified"])


def test_kyc1_verified_account_cards_start_verified_with_no_deadline(sim, acct):
    c = open_active(sim, acct)
    card = view(sim, c)
    assert card["verified"] is True and card["real_name_deadline"] is None
    sim.advance(to=t("2027-01-31"))
    assert state(sim, c) == ("active", [])


def test_kyc1_enterprise_card_verifies_with_a_credit_code(sim):
    firm = sim.create_account("Unverified Co", kind="enterprise")
    c = open_active(sim, firm, "ctcc", "CTCC-M20")
    sim.advance(to=t("2027-01-11"))
    assert state(sim, c) == ("suspended", ["unverified"])
    refused(sim, "invalid_identity", sim.verify_identity, firm, c, "Unverified Co",
            make_resident_id(random.Random(3)))  # a person's id is not a business licence
    sim.verify_identity(firm, c, "Unverified Co", make_credit_code(random.Random(3)))
    assert state(sim, c) == ("active", [])


def test_kyc1_bad_identity_is_refused_and_changes_nothing(sim, person, other, rid):
    c = open_active(sim, person)
    sim.advance(to=t("2027-01-08"))
    before = sim.digest()
    bad = rid[:-1] + ("0" if rid[-1] != "0" else "1")  # wrong check character
    assert refused(sim, "invalid_identity", sim.verify_identity, person, c, "李雷", bad).status == 422
    refused(sim, "invalid_identity", sim.verify_identity, person, c, "   ", rid)
    assert refused(sim, "card_not_found", sim.verify_identity, other, c, "李雷", rid).status == 404
    assert sim.digest() == before
    assert state(sim, c) == ("suspended", ["unverified"])

    sim.verify_identity(person, c, "李雷", rid)
    before = sim.digest()
    refused(sim, "already_verified", sim.verify_identity, person, c, "李雷", rid)
    assert sim.digest() == before


def test_kyc1_deadline_keeps_the_local_time_of_day_across_a_dst_change():
    """CAR-2: a profile may use any IANA zone; the grace period is calendar days, so a DST change inside it does
    not move the deadline's local time (Europe/Berlin springs forward on 2027-03-28)."""
    import importlib.resources as resources

    data = yaml.safe_load(resources.files("carriersim.simulator.profiles").joinpath("cmcc.yaml").read_text("utf-8"))
    data.update(id="eudst", name="DST Carrier", timezone="Europe/Berlin")
    sim = Simulation(seed=1, start="2027-03-25T12:00:00+01:00", profiles=[parse_profile(data, "eudst")],
                     timezone="Europe/Berlin")
    person = sim.create_account("Anna", kind="personal")
    c = open_active(sim, person, "eudst", "CMCC-M100")
    assert view(sim, c)["real_name_deadline"] == "2027-04-01T12:00:00+02:00"
    sim.advance(to="2027-04-01T11:59:59+02:00")
    assert view(sim, c)["reasons"] == []
    sim.advance(to="2027-04-01T12:00:00+02:00")
    assert view(sim, c)["reasons"] == ["unverified"]


# ---------------------------------------------------------------------------------------------------- BIND-1


def test_bind1_activation_binds_and_another_device_suspends(sim, acct):
    bound, stranger = new_imei(), new_imei()
    c = open_active(sim, acct, imei=bound)
    assert view(sim, c)["imei"] == bound
    assert use(sim, c, mb=1, imei=bound).accepted_kb == 1024

    mark = len(history_of(sim, c))
    usage = use(sim, c, mb=2, imei=stranger)
    assert (usage.accepted_kb, usage.refused_kb, usage.refused_because) == (0, 2048, "device")
    assert (usage.state, usage.reasons) == ("suspended", ["device"])
    card = view(sim, c)
    assert card["imei"] == bound and card["usage"]["quota_used_mb"] == 1.0
    assert changes(sim, c, mark) == [("active", "suspended", ["device"], "added", "usage", t("2027-01-01"))]
    assert [e["kind"] for e in history_of(sim, c)[mark:]] == ["state_changed", "usage_refused"]

    # the stop holds even back in the bound device, until a rebind request
    assert use(sim, c, mb=1, imei=bound).refused_because == "suspended"
    sim.advance(to=t("2027-03-01"))
    assert state(sim, c) == ("suspended", ["device"])


def test_bind1_rebind_clears_device_and_counts_a_device_change(sim, acct):
    first, second = new_imei(), new_imei()
    c = open_active(sim, acct, imei=first)
    use(sim, c, mb=1, imei=second)
    assert view(sim, c)["device_changes"] == 0

    mark = len(history_of(sim, c))
    sim.rebind_device(acct, c, second)
    card = view(sim, c)
    assert (card["state"], card["reasons"], card["imei"], card["device_changes"]) == ("active", [], second, 1)
    assert changes(sim, c, mark) == [("suspended", "active", ["device"], "removed", "api", t("2027-01-01"))]
    assert use(sim, c, mb=1, imei=second).accepted_kb == 1024

    assert use(sim, c, mb=1, imei=first).refused_because == "device"  # the old device is now the stranger
    sim.rebind_device(acct, c, first)
    assert (view(sim, c)["state"], view(sim, c)["device_changes"]) == ("active", 2)


def test_bind1_first_usage_binds_when_activated_without_imei(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100")
    sim.activate(acct, c)
    assert view(sim, c)["imei"] is None
    first, second = new_imei(), new_imei()

    assert use(sim, c, mb=1, imei=first).accepted_kb == 1024
    assert view(sim, c)["imei"] == first
    bound = [e for e in history_of(sim, c) if e["kind"] == "device_bound"]
    assert [(e["cause"], e["detail"]["imei"]) for e in bound] == [("usage", first)]

    assert use(sim, c, mb=1, imei=second).refused_because == "device"
    assert state(sim, c) == ("suspended", ["device"])
    assert view(sim, c)["device_changes"] == 0


def test_bind1_rebind_without_mismatch_moves_the_binding_without_a_stop(sim, acct):
    c = open_active(sim, acct)
    new = new_imei()
    mark = len(history_of(sim, c))
    sim.rebind_device(acct, c, new)
    card = view(sim, c)
    assert (card["state"], card["imei"], card["device_changes"]) == ("active", new, 1)
    assert changes(sim, c, mark) == []


def test_bind1_rebind_refusals_change_nothing(sim, acct, other):
    bound = new_imei()
    c = open_active(sim, acct, imei=bound)
    before = sim.digest()
    refused(sim, "already_bound", sim.rebind_device, acct, c, bound)
    assert refused(sim, "invalid_imei", sim.rebind_device, acct, c, "12345").status == 422
    good = new_imei()
    bad_luhn = good[:-1] + str((int(good[-1]) + 1) % 10)
    refused(sim, "invalid_imei", sim.rebind_device, acct, c, bad_luhn)
    refused(sim, "invalid_imei", sim.rebind_device, acct, c, 860000000010008)
    assert refused(sim, "card_not_found", sim.rebind_device, other, c, good).status == 404
    refused(sim, "invalid_imei", sim.report_usage, c, mb=1, imei="not-an-imei")
    assert sim.digest() == before


def test_bind1_rebind_to_the_bound_device_clears_the_stop_without_a_change(sim, acct):
    bound = new_imei()
    c = open_active(sim, acct, imei=bound)
    use(sim, c, mb=1, imei=new_imei())
    sim.rebind_device(acct, c, bound)  # the customer confirms the original device
    card = view(sim, c)
    assert (card["state"], card["imei"], card["device_changes"]) == ("active", bound, 0)


def test_bind1_testing_card_used_in_another_device_gets_no_test_traffic(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100", testing=True)
    first, second = new_imei(), new_imei()
    assert use(sim, c, kb=100, imei=first).accepted_kb == 100  # binds on first use
    assert use(sim, c, kb=100, imei=second).refused_because == "device"
    usage = use(sim, c, kb=100, imei=first)
    assert (usage.accepted_kb, usage.refused_because, usage.reasons) == (0, "suspended", ["device"])
    assert view(sim, c)["usage"]["test_used_mb"] == round(100 / 1024, 3)


# ---------------------------------------------------------------------------------------------------- REG-1


@pytest.mark.parametrize("carrier, region", [(c, r) for c in ("cmcc", "cucc", "ctcc")
                                             for r in ("CN-XJ", "CN-FJ", "CN-GX", "CN-XZ", "CN-BJ")])
def test_reg1_restricted_regions_per_carrier(sim, acct, carrier, region):
    c = open_active(sim, acct, carrier, PLAN[carrier])
    usage = use(sim, c, mb=1, region=region)
    if region in RESTRICTED[carrier]:
        assert (usage.accepted_kb, usage.refused_because) == (0, "region")
        assert state(sim, c) == ("suspended", ["region"])
        assert changes(sim, c)[-1] == ("active", "suspended", ["region"], "added", "usage", t("2027-01-01"))
        refusal = [e for e in history_of(sim, c) if e["kind"] == "usage_refused"][-1]
        assert refusal["detail"]["region"] == region
    else:
        assert (usage.accepted_kb, usage.refused_because) == (1024, None)
        assert state(sim, c) == ("active", [])


def test_reg1_going_back_and_time_do_not_lift_only_appeal_does(sim, acct):
    c = open_active(sim, acct)
    assert use(sim, c, mb=1, region="CN-BJ").accepted_kb == 1024
    assert use(sim, c, mb=1, region="CN-XJ").refused_because == "region"

    back = use(sim, c, mb=1, region="CN-BJ")
    assert (back.accepted_kb, back.refused_because, back.reasons) == (0, "suspended", ["region"])
    sim.advance(to=t("2027-04-15"))  # cycle starts and renewals pass
    assert state(sim, c) == ("suspended", ["region"])

    mark = len(history_of(sim, c))
    sim.appeal_region(acct, c)
    assert state(sim, c) == ("active", [])
    assert changes(sim, c, mark) == [("suspended", "active", ["region"], "removed", "api", t("2027-04-15"))]
    assert use(sim, c, mb=1, region="CN-BJ").accepted_kb == 1024


def test_reg1_a_second_restricted_region_adds_no_second_stop(sim, acct):
    c = open_active(sim, acct)
    use(sim, c, mb=1, region="CN-XJ")
    mark = len(history_of(sim, c))
    assert use(sim, c, mb=1, region="CN-XZ").refused_because == "region"
    assert changes(sim, c, mark) == []
    assert [e["kind"] for e in history_of(sim, c)[mark:]] == ["usage_refused"]
    sim.appeal_region(acct, c)
    assert state(sim, c) == ("active", [])


@pytest.mark.parametrize("name", ["Xinjiang", "xinjiang", "cn-xj", "新疆维吾尔自治区", "新疆"])
def test_reg1_region_given_by_name(sim, acct, name):
    c = open_active(sim, acct)
    assert use(sim, c, mb=1, region=name).refused_because == "region"


@pytest.mark.parametrize("name, code", [("广西", "CN-GX"), ("西藏", "CN-XZ"), ("福建", "CN-FJ"), ("福建省", "CN-FJ")])
def test_reg1_seed_short_names_of_restricted_provinces(sim, acct, name, code):
    c = open_active(sim, acct)
    assert use(sim, c, kb=1, region=name).refused_because == "region"
    refusal = [e for e in history_of(sim, c) if e["kind"] == "usage_refused"][-1]
    assert refusal["detail"]["region"] == code


def test_reg1_unknown_region_is_refused_and_changes_nothing(sim, acct):
    c = open_active(sim, acct)
    before = sim.digest()
    for bad in ("Atlantis", "CN-ZZ", ""):
        assert refused(sim, "invalid_region", sim.report_usage, c, mb=1, region=bad).status == 422
    assert sim.digest() == before


def test_reg1_appeal_without_region_stop_is_refused(sim, acct, other):
    c = open_active(sim, acct)
    use(sim, c, mb=1, imei=new_imei())  # suspended, but for device
    before = sim.digest()
    refused(sim, "not_region_restricted", sim.appeal_region, acct, c)
    assert sim.digest() == before
    use(sim, c, region="CN-XJ")
    before = sim.digest()
    assert refused(sim, "card_not_found", sim.appeal_region, other, c).status == 404
    assert sim.digest() == before


def test_reg1_region_and_device_stack(sim, acct):
    c = open_active(sim, acct)
    stranger = new_imei()
    # from a restricted region in a strange device: region is checked first
    assert use(sim, c, mb=1, region="CN-XJ", imei=stranger).refused_because == "region"
    assert state(sim, c) == ("suspended", ["region"])
    # back home, still in the strange device: device is added
    assert use(sim, c, mb=1, region="CN-BJ", imei=stranger).refused_because == "device"
    assert state(sim, c) == ("suspended", ["region", "device"])
    sim.appeal_region(acct, c)
    assert state(sim, c) == ("suspended", ["device"])
    sim.rebind_device(acct, c, stranger)
    assert state(sim, c) == ("active", [])


def test_reg1_region_stop_on_a_testing_card_refuses_test_traffic(sim, acct):
    c = sim.open_card(acct, "cmcc", "CMCC-M100", testing=True)
    assert use(sim, c, kb=100, region="CN-XJ").refused_because == "region"
    usage = use(sim, c, kb=100, region="CN-BJ")
    assert (usage.accepted_kb, usage.refused_because, usage.reasons) == (0, "suspended", ["region"])
    sim.appeal_region(acct, c)
    assert use(sim, c, kb=100, region="CN-BJ").accepted_kb == 100


def test_reg1_appeal_on_a_cancelled_card_is_refused(sim, acct):
    c = open_active(sim, acct, auto_renew=False)
    use(sim, c, region="CN-XJ")
    sim.advance(to=t("2027-05-02"))  # expired, retained, cancelled at the retention limit (RET-2)
    assert view(sim, c)["state"] == "cancelled"
    before = sim.digest()
    refused(sim, "card_cancelled", sim.appeal_region, acct, c)
    assert sim.digest() == before


@pytest.mark.parametrize("amount", [
    "inf",
    "1e400",
    -0.0001,
    "nan", "lots", -1, [1],
])
def test_reg1_bind1_bad_usage_amount_is_invalid_input_and_changes_nothing(sim, acct, amount):
    c = open_active(sim, acct)
    err = refused(sim, "invalid_input", sim.report_usage, c, mb=amount, region="CN-XJ", imei=new_imei())
    assert err.status == 422
    assert state(sim, c) == ("active", [])


def test_bind1_activation_binds_the_production_device_over_one_seen_in_testing(sim, acct):
    iccid = sim.open_card(acct, "cmcc", "CMCC-M100", payment="10", testing=True)
    test_rig, other_rig, device = new_imei(), new_imei(), new_imei()
    use(sim, iccid, kb=10, imei=test_rig)
    use(sim, iccid, kb=10, imei=other_rig)
    assert view(sim, iccid)["reasons"] == ["device"]
    sim.activate(acct, iccid, device)
    card = view(sim, iccid)
    assert (card["state"], card["imei"], card["device_changes"]) == ("active", device, 0)
    assert use(sim, iccid, kb=10, imei=device).accepted_kb == 10
    assert use(sim, iccid, kb=10, imei=test_rig).refused_because == "device"
