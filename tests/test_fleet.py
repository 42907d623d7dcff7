"""Fleet generator (ID-1 identifiers, faker zh_CN) and determinism: same seed and commands, same state."""

from __future__ import annotations

import pytest
from stdnum.cn import ric, uscc

from conftest import use

from carriersim.simulator import Simulation
from carriersim.simulator.fleet import FleetSpec, generate
from carriersim.simulator.identifiers import (CARRIER_MCC_MNC, credit_code_problem, iccid_problem, imei_problem, imsi_problem,
                                   msisdn_problem, resident_id_problem)


@pytest.fixture(scope="module")
def fleet_sim():
    sim = Simulation(seed=7)
    fleet = generate(sim, FleetSpec(accounts=20, cards=300, seed=7))
    return sim, fleet


def test_id1_generated_fleet_identifiers_are_valid(fleet_sim):
    sim, fleet = fleet_sim
    assert len(fleet.cards) == 300 and len(set(fleet.cards)) == 300
    for iccid in fleet.cards:
        card = sim.engine.by_iccid[iccid]
        assert iccid_problem(iccid) is None and iccid.startswith("8986")
        assert imsi_problem(card.imsi, CARRIER_MCC_MNC[card.profile.id]) is None
        assert msisdn_problem(card.msisdn) is None and len(card.msisdn) == 13
        assert card.msisdn.startswith(card.profile.msisdn_prefixes)
        if card.imei is not None:
            assert imei_problem(card.imei) is None
    msisdns = [sim.engine.by_iccid[i].msisdn for i in fleet.cards]
    assert len(set(msisdns)) == len(msisdns)


def test_fleet_accounts_have_chinese_names_and_valid_documents(fleet_sim):
    sim, fleet = fleet_sim
    kinds = {sim.engine.accounts[a].kind for a in fleet.accounts}
    assert kinds == {"enterprise", "personal"}
    for a in fleet.accounts:
        acc = sim.engine.accounts[a]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in acc.name)
        check = resident_id_problem if acc.kind == "personal" else credit_code_problem
        assert check(acc.id_number) is None
        # and a real validator accepts them too (python-stdnum: region code, birth date, check digit)
        oracle = ric if acc.kind == "personal" else uscc
        assert oracle.is_valid(acc.id_number), acc.id_number


def test_fleet_spans_every_carrier_and_is_mixed(fleet_sim):
    sim, fleet = fleet_sim
    cards = [sim.engine.by_iccid[i] for i in fleet.cards]
    assert {c.profile.id for c in cards} == {"cmcc", "cucc", "ctcc"}
    assert len({c.plan.code for c in cards}) >= 10
    assert any(not c.auto_renew for c in cards) and any(not c.auto_suspend for c in cards)
    assert any(c.pool is not None for c in cards)
    assert any(c.reasons for c in cards)  # some ran out of quota or into arrears already


def _run(seed: int) -> str:
    sim = Simulation(seed=seed)
    fleet = generate(sim, FleetSpec(accounts=5, cards=60, seed=seed))
    acct = fleet.accounts[0]
    first = fleet.cards[0]
    sim.top_up(acct, first, "10")
    sim.advance(by="40 days")
    use(sim, fleet.cards[1], mb=5, region="CN-XJ")
    sim.advance(by="5 months")
    return sim.digest()


def test_same_seed_same_commands_same_state():
    assert _run(3) == _run(3)


def test_another_seed_gives_another_world():
    assert _run(3) != _run(4)


def test_bad_fleet_spec_is_refused():
    with pytest.raises(ValueError, match="unknown carrier"):
        generate(Simulation(), FleetSpec(carriers=("vodafone",)))
    with pytest.raises(ValueError, match="at least one account"):
        generate(Simulation(), FleetSpec(accounts=0))
