"""The bulk paths are the per-card paths done at once: the same world, event for event (issue #14).

Cohort jobs (renewals, expiries, retention fees and limits, quota lifts, CAN-5, KYC-1), the fleet's batch opening,
and ``report_usage_many`` must leave exactly the state and the event log the one-by-one operations leave.
"""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.events import CHANGE_ADDED, EventLog, Kind, pack
from carriersim.simulator.identifiers import luhn_check_digit, luhn_check_digits


def test_id1_luhn_check_digits_in_bulk_match_one_by_one():
    rng = random.Random(1)
    for prefix, width in (("898600", 13), ("86", 12), ("8986011", 12), ("", 14)):
        serials = [rng.randrange(10 ** (width - 1)) for _ in range(300)] + [0, 1, 10 ** width - 1]
        assert luhn_check_digits(prefix, serials, width) == [luhn_check_digit(prefix + str(s).zfill(width))
                                                             for s in serials]


def _world(one_by_one: bool) -> Simulation:
    sim = Simulation(seed=3)
    acct = sim.create_account("整车厂", verified=False)
    plans = {c: sim.plans(c) for c in sim.carrier_ids()}
    rows = []
    for n in range(40):
        carrier = sim.carrier_ids()[n % 3]
        plan = plans[carrier][n % len(plans[carrier])]
        imei = f"86{n:012d}"
        imei += luhn_check_digit(imei)
        rows.append((acct, carrier, plan.code, plan.price + (n % 4) * 100, n % 5 != 0, n % 3 != 0, n % 7 != 0,
                     imei if n % 2 else None))
    if one_by_one:
        for account, carrier, plan, payment, suspend, renew, activate, imei in rows:
            iccid = sim.open_card(account, carrier, plan, payment=f"{payment / 100:.2f}", auto_suspend=suspend,
                                  auto_renew=renew)
            if activate:
                sim.activate(account, iccid, imei)
    else:
        sim.open_cards(rows)
    return sim


def test_open_cards_is_open_card_and_activate_card_by_card():
    bulk, single = _world(False), _world(True)
    assert bulk.digest() == single.digest()
    bulk.advance(by="15 months")
    single.advance(by="15 months")
    assert bulk.digest() == single.digest()


def test_open_cards_refuses_an_unpaid_order_before_anything_changes():
    sim = Simulation()
    acct = sim.create_account("x")
    plan = sim.plans("cmcc")[0]
    ok = (acct, "cmcc", plan.code, plan.price, True, True, False, None)
    with pytest.raises(Exception) as err:
        sim.open_cards([ok, (acct, "cmcc", plan.code, plan.price - 1, True, True, False, None)])
    assert getattr(err.value, "code", None) == "insufficient_balance"
    assert sim.event_count() == 0 and sim.account(acct).cards == 0


def test_report_usage_many_is_report_usage_in_order():
    def world():
        sim = _world(False)
        iccids = [c.iccid for c in sim.cards()]
        return sim, iccids

    bulk, iccids = world()
    single, _ = world()
    rng = random.Random(5)
    reports = [(rng.choice(iccids), rng.randrange(0, 400_000)) for _ in range(200)]
    reports.append((iccids[3], 10, "CN-XJ"))
    result = bulk.report_usage_many(reports)
    accepted = 0
    for report in reports:
        iccid, kb, *region = report
        accepted += single.report_usage(iccid, kb=kb, region=region[0] if region else None).accepted_kb
    assert bulk.digest() == single.digest()
    assert result.reports == len(reports) and result.accepted_kb == accepted
    assert result.accepted_kb + result.refused_kb == sum(r[1] for r in reports)


def test_report_usage_many_checks_every_row_before_applying_any():
    sim = _world(False)
    before = sim.digest()
    good = next(c.iccid for c in sim.cards() if c.state.label == "active")
    for bad in ([(good, 10), (good, -1)], [(good, 10), ("8986", 10)], [(good, 10), (good,)]):
        with pytest.raises(Exception):
            sim.report_usage_many(bad)
    assert sim.digest() == before


def test_life4_event_log_details_read_back_as_written_and_pickle():
    log = EventLog()
    details = [None, {"why": "auto_renew_off"}, {"threshold": 80, "used_kb": 5, "quota_kb": 10, "scope": "card"},
               {"x": 1.5}, {"replaces": None, "to": "P2"}, {"big": 1 << 70}, {"first": True, "imei": "86"}]
    for i, detail in enumerate(details):
        log.append(100 + i // 3, i, Kind.ALERT, 2, tag="t" if i % 2 else "", detail=detail)
    log.append_many(200, np.array([7, 8, 9]), pack(Kind.STATE_CHANGED, 1, change=CHANGE_ADDED),
                    detail=(("why", "balance"), (["a", "b", "a"], [-5, 0, 7])))
    again = pickle.loads(pickle.dumps(log))
    for lg in (log, again):
        assert [lg.detail_of(i) for i in range(len(details))] == details
        assert [lg.detail_of(i) for i in range(7, 10)] == [{"why": "a", "balance": -5}, {"why": "b", "balance": 0},
                                                          {"why": "a", "balance": 7}]
        assert [lg.time_of(i) for i in range(10)] == [100, 100, 100, 101, 101, 101, 102, 200, 200, 200]
        assert lg.of_card(8) == [8] and lg.kind_of(8) == Kind.STATE_CHANGED


def test_life4_reordered_tail_moves_events_with_their_details():
    log = EventLog()
    log.append(5, 0, Kind.PAYMENT, 0, amount=10)
    log.append_many(9, np.array([1, 2]), pack(Kind.CHARGE, 1), amounts=np.array([-1, -2]), tags="fee")
    log.append_many(9, np.array([1, 2]), pack(Kind.EXPIRED, 1), detail=(("why",), (["p", "q"],)))
    log.reorder_tail(1, np.array([0, 64, 1, 65]))
    got = [(e.card, e.kind, e.amount, e.detail) for e in log.since(0)]
    assert got == [(0, Kind.PAYMENT, 10, None), (1, Kind.CHARGE, -1, {"item": "fee"}), (1, Kind.EXPIRED, 0,
                   {"why": "p"}), (2, Kind.CHARGE, -2, {"item": "fee"}), (2, Kind.EXPIRED, 0, {"why": "q"})]
    assert log.of_card(2) == [3, 4]
