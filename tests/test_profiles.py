"""CAR-1 (the three national carriers ship and allow retention) and CAR-2 (a carrier is a profile: data a user can
write, validated with the file, the field and what was expected)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import view, ledger_of

from carriersim.simulator import ProfileError, Simulation, builtin_profile, load_profile
from carriersim.simulator.profile import BUILTIN_CARRIERS, parse_profile


def test_car1_three_national_carriers_ship_and_all_allow_retention():
    assert BUILTIN_CARRIERS == ("cmcc", "cucc", "ctcc")
    names = {c: builtin_profile(c).name for c in BUILTIN_CARRIERS}
    assert names == {"cmcc": "China Mobile", "cucc": "China Unicom", "ctcc": "China Telecom"}
    for c in BUILTIN_CARRIERS:
        assert builtin_profile(c).retention_months > 0


def test_car1_china_mobile_uses_the_seed_retention_numbers():
    p = builtin_profile("cmcc")
    assert (p.retention_months, p.retention_fee) == (3, 500)
    assert p.restricted_regions == {"CN-XJ", "CN-FJ", "CN-GX", "CN-XZ"}


def test_car1_each_profile_has_monthly_quarterly_and_annual_plans_and_its_own_imsi_ranges():
    seen = set()
    for c in BUILTIN_CARRIERS:
        p = builtin_profile(c)
        assert {pl.term for pl in p.plans.values()} == {"monthly", "quarterly", "annual"}
        assert {pl.quota_scope for pl in p.plans.values()} == {"month", "term"}
        assert not seen & set(p.imsi_prefixes)
        seen |= set(p.imsi_prefixes)


def _data(carrier: str = "cmcc") -> dict:
    return copy.deepcopy(builtin_profile(carrier).raw)


def _write(tmp_path: Path, data: dict, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_car2_a_user_adds_a_carrier_by_writing_a_profile(tmp_path):
    data = _data()
    data.update(id="acme", name="Acme IoT", timezone="Europe/Berlin", billing_cycle_day=15)
    data["retention"] = {"months": 2, "monthly_fee": "1.50"}
    data["plans"] = [{"code": "ACME-M1", "name": "1GB", "term": "monthly", "quota_mb": 1024, "quota_scope": "month",
                      "price": "9.90", "overage_per_mb": "0.10"}]
    data["addons"] = []
    data["calendar"] = {"weekend": ["sat", "sun"], "holidays": ["2027-12-25"]}
    path = _write(tmp_path, data)
    sim = Simulation(start="2027-01-10T12:00:00+01:00", profiles=[builtin_profile("cmcc"), str(path)])
    acct = sim.create_account("Acme GmbH", verified=True)
    iccid = sim.open_card(acct, "acme", "ACME-M1", payment="9.90", auto_renew=False)
    sim.activate(acct, iccid)
    sim.advance(to="2027-01-15T00:00:00+01:00")  # Berlin midnight on the 15th: the acme cycle start
    card = view(sim, iccid)
    assert card["state"] == "retained"
    assert card["expired_at"] == "2027-01-15T07:00:00+08:00"
    assert ledger_of(sim, iccid)[-1]["amount"] == "-1.50"


@pytest.mark.parametrize("mutate, field, words", [
    (lambda d: d.pop("retention"), "retention", "missing"),
    (lambda d: d["retention"].update(months="three"), "retention.months", "not of type 'integer'"),
    (lambda d: d.update(billing_cycle_day=31), "billing_cycle_day", "maximum"),
    (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "IANA"),
    (lambda d: d.update(restricted_regions=["CN-ZZ"]), "restricted_regions[0]", "not a known region"),
    (lambda d: d["plans"][1].update(code=d["plans"][0]["code"]), "plans[1].code", "used twice"),
    (lambda d: d["plans"][0].update(price="5.999"), "plans[0].price", "expected"),
    (lambda d: d["plans"][0].update(term="weekly"), "plans[0].term", "monthly"),
    (lambda d: d.update(retension={"months": 3}), "(top level)", "misspelt"),
])
def test_car2_bad_profiles_are_refused_with_file_field_and_expectation(tmp_path, mutate, field, words):
    data = _data()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.source == str(path)
    assert err.value.field == field
    assert words in err.value.problem
    assert str(path) in str(err.value)


def test_car2_invalid_yaml_names_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "line" in err.value.field and "YAML" in err.value.problem


def test_car2_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError) as err:
        load_profile(tmp_path / "nope.yaml")
    assert "cannot be read" in err.value.problem


def test_car2_loading_the_same_carrier_twice_is_refused():
    with pytest.raises(Exception) as err:
        Simulation(profiles=[builtin_profile("cmcc"), builtin_profile("cmcc")])
    assert "already loaded" in str(err.value)


def test_car2_profile_values_drive_the_rules():
    p = parse_profile(_data("ctcc"), "ctcc-copy")
    assert (p.retention_months, p.arrears_auto_resume, p.kyc_grace_days) == (6, False, 10)
