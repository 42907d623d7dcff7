"""The runner's semantics: time expressions, refusals, within:, variables and saved answers, events since the
last step, capabilities, and what a failure prints."""

from __future__ import annotations

import pytest

from carriersim.scenarios.source import ScenarioError

from carriersim.scenarios.parser import parse_text
from carriersim.scenarios.runner import ERROR, FAILED, NOT_APPLICABLE, PASSED, run
from carriersim.scenarios.targets.inprocess import InProcessTarget


def outcome(body: str, carrier: str = "cmcc", target=None, given: str | None = None):
    given = given or "given:\n  start: 2027-01-10T09:00:00\n  cards: [{id: tracker, balance: 50}]\n"
    (scenario,) = parse_text(f"name: t\nrules: [QUOTA-2]\ncarriers: [{carrier}]\n{given}steps:\n{body}", "t.yaml")
    return run(scenario, carrier, target or InProcessTarget())


def passes(body: str, **kw):
    o = outcome(body, **kw)
    assert o.status == PASSED, o.failure.render() if o.failure else o.reason
    return o


def fails(body: str, **kw):
    o = outcome(body, **kw)
    assert o.status == FAILED, o.status
    return o.failure


def test_named_points_and_offsets_land_on_the_exact_second():
    passes("  - advance: next_cycle - 1 second\n  - expect: {term_end: now + 1 second}\n"
           "  - advance: end_of_month\n  - expect: {term_end: '2027-02-01T00:00:00+08:00'}\n")
    failure = fails("  - advance: next_cycle\n  - expect: {term_end: now}\n")
    assert "term_end" in failure.found


def test_the_clock_never_goes_back():
    o = outcome("  - advance: 2 days\n  - advance: {to: '2027-01-01T00:00:00'}\n")
    assert o.status == ERROR and "only moves forward" in o.reason


def test_an_expected_refusal_passes_and_the_wrong_code_or_a_success_fails():
    passes("  - change_plan: {card: tracker, plan: NOPE}\n    refused: plan_not_found\n")
    assert "refusal with code invalid_state" in fails(
        "  - change_plan: {card: tracker, plan: NOPE}\n    refused: invalid_state\n").expected
    assert fails("  - suspend: tracker\n    refused: invalid_state\n").found == "the step succeeded"
    unexpected = fails("  - resume: tracker\n")
    assert unexpected.expected == "the step to succeed" and "not_manually_suspended" in unexpected.found


def test_refusal_message_is_matched_as_text():
    passes("  - change_plan: {card: tracker, plan: NOPE}\n    refused: {code: plan_not_found, message: 'no plan'}\n")
    fails("  - change_plan: {card: tracker, plan: NOPE}\n    refused: {code: plan_not_found, message: 'balloon'}\n")


def test_within_moves_the_clock_until_it_holds_and_fails_after_the_span():
    passes("  - use: {mb: 1000}\n  - advance: end_of_month - 1 hour\n  - expect: {state: active}\n    within: 2 hours\n"
           "  - expect: {card: tracker, state: active}\n")
    failure = fails("  - use: {mb: 1000}\n  - expect: {state: active}\n    within: 2 days\n")
    assert "within 2 days" in failure.expected and "still, at 2027-01-12T09:00:00+08:00" in failure.found


def test_saved_answers_and_card_fields_feed_later_steps():
    passes("  - top_up: {card: tracker, amount: 7}\n    save: pay\n"
           "  - refund: {card: tracker, kind: wrong_top_up, payment: '${pay.payment}'}\n    returns: {amount: 7}\n"
           "  - expect: {balance: '${tracker.balance}', term_end: '${tracker.term_end}'}\n")


def test_profile_values_and_conditions():
    body = ("  - expect: {retention_until: null}\n"
            "  - advance: ${profile.retention.months} months\n"
            "  - expect: {state: active}\n    if: ${profile.arrears.auto_resume}\n"
            "  - expect: {state: retained}\n    unless: ${profile.arrears.auto_resume}\n")
    passes(body, carrier="cmcc")
    assert outcome(body, carrier="ctcc").status == FAILED  # ctcc: no automatic resume, so the second check runs


def test_events_are_those_since_the_last_action():
    passes("  - use: {mb: 1000}\n  - expect: {events: [{kind: state_changed, new_state: suspended, reasons: [quota]}]}\n"
           "  - advance: 1 day\n  - expect: {no_events: [{kind: state_changed}]}\n")
    failure = fails("  - use: {mb: 1000}\n  - advance: 1 day\n"
                    "  - expect: {events: [{kind: state_changed, reasons: [quota]}]}\n")
    assert "since the last step" in failure.found


def test_a_failure_names_the_step_and_shows_the_card_history():
    failure = fails("  - use: {card: tracker, mb: 1000}\n  - expect: {card: tracker, state: active}\n    note: quota\n")
    text = failure.render()
    assert failure.step == 2 and "t.yaml:" in failure.where
    assert "expected: {state: active}" in text and "found:    state: expected active, found suspended" in text
    assert "recent history of tracker" in text and "active -> suspended [quota]" in text
    assert "note:     quota" in text


def test_plan_selectors_pick_by_term_scope_and_price():
    passes("  - change_plan: {card: tracker, plan: quarterly:term}\n"
           "  - expect: {pending_change: {plan: CMCC-Q3G, effective_at: next_cycle}}\n"
           "  - withdraw_change: tracker\n  - change_plan: {card: tracker, plan: monthly:2}\n"
           "  - expect: {pending_change: {plan: CMCC-M100}}\n")
    with pytest.raises(ScenarioError, match="plan 'monthly:9': not every carrier has such a plan"):
        outcome("  - change_plan: {card: tracker, plan: monthly:9}\n")  # caught before anything runs


class NoTimeTravel(InProcessTarget):
    name = "frozen"
    capabilities = frozenset({"usage", "history"})


def test_a_scenario_needing_what_the_target_lacks_is_not_applicable():
    o = outcome("  - advance: 1 day\n  - expect: {state: active}\n", target=NoTimeTravel())
    assert o.status == NOT_APPLICABLE and "time_travel" in o.reason
    assert outcome("  - use: {mb: 1}\n  - expect: {state: active}\n", target=NoTimeTravel()).status == PASSED


@pytest.mark.parametrize("carrier", ["cmcc", "cucc", "ctcc"])
def test_matrix_runs_per_carrier_with_its_own_catalogue(carrier):
    o = passes("  - expect: {carrier: '${carrier}', iccid: {matches: '^8986\\d{15,16}$'}}\n", carrier=carrier)
    assert o.carrier == carrier


def test_a_testing_card_is_not_activated_unless_asked():
    passes("  - expect: {card: probe, state: testing}\n  - expect: {card: live, state: active}\n",
           given="given:\n  cards: [{id: probe, testing: true}, {id: live, testing: true, activate: true}]\n")


def test_variables_in_a_refusal_message_are_filled_in():
    passes("  - change_plan: {card: tracker, plan: NOPE}\n    refused: {code: plan_not_found, message: '${carrier}'}\n")


def test_a_refusal_while_building_the_world_is_an_error_not_a_crash():
    o = outcome("  - expect: {state: active}\n", given="given:\n  cards: [{id: c, plan: monthly, payment: 0.01}]\n")
    assert o.status == ERROR and "given: refused: insufficient_balance" in o.reason


def test_a_refused_observation_is_a_failure_with_the_step():
    o = outcome("  - expect: {card: tracker, state: active}\n    as: rival\n",
                given="given:\n  accounts: [{id: acme}, {id: rival}]\n  cards: [{id: tracker}]\n")
    assert o.status == FAILED and "card_not_found" in o.failure.found and o.failure.step == 1


def test_any_value_written_as_money_compares_to_the_fen():
    passes("  - top_up: {card: tracker, amount: 7}\n    returns: {card: {balance: 57}}\n"
           "  - expect: {ledger: [{kind: payment, amount: 7, balance: 57.0}]}\n")
