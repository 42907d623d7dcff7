"""Counting in expectations: ``count: N`` or ``{min, max}`` on history, events and ledger patterns."""

from __future__ import annotations

import pytest

from carriersim.scenarios.parser import parse_text
from carriersim.scenarios.runner import FAILED, PASSED, run
from carriersim.scenarios.source import ScenarioError
from carriersim.scenarios.targets.inprocess import InProcessTarget

BASE = """
name: counting
rules: [RET-1]
carriers: [cmcc]
given:
  start: 2027-01-10T09:00:00
  cards: [{id: c, plan: monthly, auto_renew: false, balance: 100}]
steps:
  - advance: next_cycle
  - advance: retention_limit - 1 second
  - expect: {card: c, %s}
"""


def outcome(expectation: str):
    (sc,) = parse_text(BASE % expectation, "count.yaml")
    return run(sc, "cmcc", InProcessTarget())


@pytest.mark.parametrize("expectation", [
    "ledger: [{item: retention_fee, count: 3}]",  # exactly three retention fees (China Mobile: 3 months)
    "ledger: [{item: retention_fee, count: '${profile.retention.months}'}]",
    "ledger: [{item: retention_fee, count: {min: 2, max: 3}}, {kind: payment}]",
    "ledger: [{item: refund_fee, count: 0}]",
    "history: [{kind: charge, count: {min: 4}}]",
    "history: [{kind: expired, count: 1}, {kind: state_changed, new_state: retained}]",
    "events: [{kind: charge, count: 2}, {kind: alert, count: 0}]",  # since the last action: two cycle starts
])
def test_a_count_that_holds_passes(expectation):
    o = outcome(expectation)
    assert o.status == PASSED, o.failure.render() if o.failure else o.reason


@pytest.mark.parametrize("expectation,message", [
    ("ledger: [{item: retention_fee, count: 2}]", "exactly 2 ledger entries like {item: retention_fee}; found 3"),
    ("ledger: [{item: retention_fee, count: {max: 2}}]", "at most 2 ledger entries"),
    ("ledger: [{item: retention_fee, count: {min: 4}}]", "at least 4 ledger entries"),
    ("history: [{kind: alert, count: {min: 1, max: 2}}]", "1 to 2 events in the history like {kind: alert}; found 0"),
])
def test_a_count_that_does_not_hold_fails_and_says_how_many_were_found(expectation, message):
    o = outcome(expectation)
    assert o.status == FAILED and message in o.failure.found


def test_the_found_items_are_listed():
    o = outcome("ledger: [{item: retention_fee, count: 1}]")
    assert o.failure.found.count("retention_fee") == 4  # the pattern, then the three entries found


def test_a_count_is_checked_before_anything_runs():
    with pytest.raises(ScenarioError, match="min 3 is more than max 1"):
        parse_text(BASE % "ledger: [{item: retention_fee, count: {min: 3, max: 1}}]", "count.yaml")
    with pytest.raises(ScenarioError, match="unknown field 'count'"):
        parse_text(BASE % "no_events: [{kind: alert, count: 1}]", "count.yaml")
    with pytest.raises(ScenarioError, match="count"):
        parse_text(BASE % "ledger: [{item: retention_fee, count: -1}]", "count.yaml")
    with pytest.raises(ScenarioError, match="should be how many items match the pattern"):
        parse_text(BASE % "ledger: [{item: retention_fee, count: {maximum: 1}}]", "count.yaml")
