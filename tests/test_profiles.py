"""CAR-1 (the three national carriers ship and allow retention) and CAR-2 (a carrier is a profile: data a user can
write, validated with the file, the field and what was expected)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import view, ledger_of

from carriersim.simulator import ProfileError, Simulation, builtin_profile, load_profile
from carriersim.simulator.profile import BUILTIN_CARRIERS, parse_profile, profile_problems


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


# ------------------------------------------------------------------ validation: every problem, cross-field checks


def test_car2_every_problem_of_a_file_is_reported_at_once(tmp_path):
    data = _data()
    data.update(id="acme", billing_cycle_day=31, timezone="Mars/Olympus", restricted_regions=["CN-ZZ"])
    data["retention"]["months"] = "three"
    data["plans"][1]["code"] = data["plans"][0]["code"]
    data["cancellation"]["reject_device_changes"] = 1
    with pytest.raises(ProfileError) as err:
        load_profile(_write(tmp_path, data))
    fields = [f for f, _ in err.value.problems]
    assert fields == ["billing_cycle_day", "retention.months", "timezone", "restricted_regions[0]", "plans[1].code",
                      "cancellation.reject_device_changes"]
    assert (err.value.field, err.value.problem) == err.value.problems[0]
    assert "and 5 more problems" in str(err.value)


@pytest.mark.parametrize("mutate, field, words", [
    (lambda d: d["cancellation"].update(high_risk_device_changes=4, reject_device_changes=3),
     "cancellation.reject_device_changes", "below high_risk_device_changes (4)"),
    (lambda d: d["cancellation"].update(review_working_days=5, manual_review_working_days=4),
     "cancellation.manual_review_working_days", "shorter than review_working_days (5)"),
    (lambda d: d["cancellation"].update(review_working_days=1, batch_review_working_days=2),
     "cancellation.batch_review_working_days", "longer than review_working_days (1)"),
    (lambda d: d["calendar"].update(weekend=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
     "calendar.weekend", "no day would ever be a working day"),
    (lambda d: d["calendar"].update(working_weekends=["2027-03-03"]), "calendar.working_weekends[0]",
     "is a Wednesday, not a weekend day"),
    (lambda d: d["calendar"].update(holidays=["2027-03-06"], working_weekends=["2027-03-06"]),
     "calendar.working_weekends[0]", "also listed in calendar.holidays"),
    (lambda d: d["calendar"].update(working_weekends=["2027-02-30"]), "calendar.working_weekends[0]",
     "is not a date"),
    (lambda d: d["identifiers"].update(msisdn_prefixes=["10648", "2440"]), "identifiers.msisdn_prefixes[1]",
     "must start with 1"),
])
def test_car2_cross_field_checks(tmp_path, mutate, field, words):
    data = _data()
    data["id"] = "acme"
    mutate(data)
    with pytest.raises(ProfileError) as err:
        load_profile(_write(tmp_path, data))
    assert err.value.problems == [(field, err.value.problems[0][1])]
    assert words in err.value.problem


def test_car2_shipped_profiles_pass_every_check():
    for c in BUILTIN_CARRIERS:
        assert profile_problems(_data(c)) == []


def test_car2_validate_reports_a_shipped_id_exactly_as_demo_and_serve_refuse_it(tmp_path, capsys):
    from carriersim.simulator.cli import main

    clash = _write(tmp_path, _data("cucc"), "my-unicom.yaml")  # forgot to change the id
    assert main(["profiles", "--validate", str(clash)]) == 1
    validated = capsys.readouterr().err
    assert main(["demo", "--cards", "5", "--months", "0", "--quiet", "--profile", str(clash)]) == 1
    refused = capsys.readouterr().err.strip().removeprefix("carriersim: error: ")
    assert refused == ("Carrier 'cucc' is already loaded: 'cucc' is the id of a shipped carrier "
                       "(simulator/profiles/cucc.yaml); give the profile another id.")
    assert f"profile {clash}: field id: {refused}" in validated
    with pytest.raises(Exception) as err:  # serve builds its world the same way
        Simulation(profiles=[*[builtin_profile(c) for c in BUILTIN_CARRIERS], str(clash)])
    assert str(err.value) == refused


def test_car2_validate_exit_codes_and_clashes_between_the_files(tmp_path, capsys):
    from carriersim.simulator.cli import main

    good = _data()
    good["id"] = "acme"
    first, second = _write(tmp_path, good, "a.yaml"), _write(tmp_path, good, "b.yaml")
    bad = _data()
    bad.update(id="broken", billing_cycle_day=0)
    broken = _write(tmp_path, bad, "broken.yaml")
    assert main(["profiles", "--validate", str(first)]) == 0
    assert f"ok {first}" in capsys.readouterr().out
    assert main(["profiles", "--validate", str(first), str(second), str(broken)]) == 1
    io = capsys.readouterr()
    assert f"ok {first}" in io.out and str(second) not in io.out
    assert f"profile {second}: field id: Carrier 'acme' is already loaded: a carrier with this id is already " \
           f"loaded from {first}" in io.err
    assert f"profile {broken}: field billing_cycle_day" in io.err
    assert "2 of 3 profile files cannot be used" in io.err
