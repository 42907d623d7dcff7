"""Card facts the engine does not keep but carrier dialects show: labels (journaled as the ``set_label``
operation) and the usage carried per hour (fed by one call in ``report_usage``)."""

from __future__ import annotations

import pytest

from carriersim.simulator import SimError, Simulation
from carriersim.simulator.operations import invoke


def test_labels_belong_to_the_owner_and_unique_ones_stay_unique_within_an_account() -> None:
    sim = Simulation(seed=1)
    a, b = sim.create_account("A", verified=True), sim.create_account("B", verified=True)
    one, two = (sim.open_card(a, "cucc", "CUCC-M50") for _ in range(2))
    theirs = sim.open_card(b, "cucc", "CUCC-M50")
    invoke(sim, "set_label", a, {"iccid": one, "key": "twilio.unique_name", "value": "meter", "unique": True})
    assert sim.labels(one) == {"twilio.unique_name": "meter"}
    assert sim.find_labelled(a, "twilio.unique_name", "meter") == one
    assert sim.find_labelled(b, "twilio.unique_name", "meter") is None  # PLAN-3
    with pytest.raises(SimError) as taken:
        sim.set_label(a, two, "twilio.unique_name", "meter", unique=True)
    assert taken.value.code == "label_taken"
    sim.set_label(b, theirs, "twilio.unique_name", "meter", unique=True)  # another account may use it
    with pytest.raises(SimError) as hidden:
        sim.set_label(b, one, "jasper.accountCustom1", "x")
    assert hidden.value.code == "card_not_found"
    sim.set_label(a, one, "twilio.unique_name", None)
    assert sim.labels(one) == {} and sim.find_labelled(a, "twilio.unique_name", "meter") is None
    with pytest.raises(SimError):
        sim.set_label(a, one, "no-dot", "x")


def test_usage_is_counted_by_the_hour_as_carried_and_inventory_is_an_operation() -> None:
    sim = Simulation(seed=1, start="2027-01-05T10:30:00+08:00")
    a = sim.create_account("A", verified=True)
    [stock] = invoke(sim, "add_inventory", None, {"carrier": "cucc", "count": 1})
    iccid = sim.open_card(a, "cucc", "CUCC-M50", iccid=stock)
    sim.activate(a, iccid)
    sim.report_usage(iccid, kb=100)
    sim.advance(by="1 hour")
    sim.report_usage(iccid, mb=60)  # 50 MB quota: only what was carried counts
    hour = sim.now - sim.now % 3600
    assert sim.usage_kb(iccid, hour, hour + 3600) == 50 * 1024 - 100
    assert sim.usage_kb(iccid, 0, hour + 3600) == 50 * 1024
    assert sim.usage_kb(iccid, 0, hour + 3600, a) == 50 * 1024
