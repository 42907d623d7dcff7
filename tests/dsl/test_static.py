"""Static checks before anything runs: plan and add-on selectors, ${profile…} paths, ${card.field} names, event
kinds, no cascades, steps counted from 1, YAML 1.1 booleans, excerpts with a caret, and ``carriersim check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carriersim.conformance.cli import main
from carriersim.scenarios import steps
from carriersim.scenarios.parser import parse_text
from carriersim.scenarios.runner import run
from carriersim.scenarios.schema import document_schema
from carriersim.scenarios.source import ScenarioError
from carriersim.scenarios.targets.inprocess import InProcessTarget

HEAD = "name: x\nrules: [PLAN-1]\ngiven:\n  cards: [{id: tracker}]\nsteps:\n"


def problems(body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_text(head + body, "s.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("body,position,phrases", [
    ("  - change_plan: {card: tracker, plan: quarterly:term:2}\n", "6:40",
     ["plan 'quarterly:term:2': not every carrier has such a plan", "cmcc has 1 (CMCC-Q3G)"]),
    ("  - change_plan: {card: tracker, plan: CMCC-M100}\n", "6:40", ["plan 'CMCC-M100' is not a plan of cucc, ctcc"]),
    ("  - change_plan: {card: tracker, plan: CMCC-M10}\n", "6:40", ["did you mean 'CMCC-M100'?"]),
    ("  - expect: {pending_change: {plan: anual}}\n", "6:37", ["plan 'anual' is not a plan", "selector"]),
    ("  - buy_addon: {card: tracker, addon: biggest}\n", "6:39", ["add-on 'biggest' is not sold by cmcc, cucc, ctcc",
                                                                   "smallest or largest"]),
    ("  - advance: ${profile.retention.monts} months\n", "6:14",
     ["${profile.retention.monts}: cmcc's profile.retention has no 'monts' (did you mean 'months'?)"]),
    ("  - advance: ${profile.cancellation.unused_cancel_months.x} days\n", "6:14",
     ["cmcc's profile.cancellation.unused_cancel_months is int (12), with no 'x'"]),
    ("  - advance: ${tracker.term_ends}\n", "6:14", ["a card has no field 'term_ends' (did you mean 'term_end'?)"]),
    ("  - expect: {events: [{kind: alrt}]}\n", "6:30", ["'alrt' is not one of", "did you mean 'alert'?"]),
    ("  - expect: {ledger: [{kind: retention_fee}]}\n", "6:30",
     ["step 1 expect.ledger[0].kind: 'retention_fee' is not one of payment, charge, refund"]),
])
def test_meaning_is_checked_before_anything_runs(body, position, phrases):
    found = problems(body)
    assert any(p.startswith(f"s.yaml:{position}: ") for p in found), found
    for phrase in phrases:
        assert any(phrase in p for p in found), (phrase, found)


def test_a_plan_code_is_fine_on_its_own_carrier_and_where_a_refusal_is_the_point():
    parse_text(HEAD.replace("rules: [PLAN-1]", "rules: [PLAN-1]\ncarriers: [cmcc]")
               + "  - change_plan: {card: tracker, plan: CMCC-M100}\n", "s.yaml")
    parse_text(HEAD + "  - change_plan: {card: tracker, plan: NOPE}\n    refused: plan_not_found\n", "s.yaml")
    parse_text(HEAD + "  - advance: ${profile.plans.0.code}\n    if: false\n", "s.yaml")  # list indexes


def test_one_mistake_gives_one_error_not_a_cascade():
    found = problems("  - open_card: {id: spare, plna: annual}\n  - suspend: spare\n  - expect: {card: spare}\n"
                     "  - top_up: {card: spare, amount: 5}\n    save: pay\n  - opn_card: {id: other}\n"
                     "  - refund: {card: spare, kind: wrong_top_up, payment: '${pay.payment}'}\n"
                     "  - resume: other\n")
    assert len(found) == 2, found  # the misspelt field and the misspelt step, nothing about 'spare' or 'other'
    assert "plna" in found[0] and "opn_card" in found[1]
    given = problems("  - suspend: tracker\n  - suspend: box\n",
                     head="name: x\nrules: [PLAN-1]\ngiven:\n  cards: [{id: tracker, plna: x}, {id: box}]\nsteps:\n")
    assert len(given) == 1 and "plna" in given[0], given


def test_steps_are_counted_from_1_in_static_errors_as_in_run_failures():
    (static,) = problems("  - advance: 1 day\n  - use: {card: tracker, mb: lots}\n")
    assert "step 2 use.mb should be" in static
    (sc,) = parse_text(HEAD + "  - advance: 1 day\n  - expect: {card: tracker, state: suspended}\n", "s.yaml")
    failure = run(sc, "cmcc", InProcessTarget()).failure
    assert failure.step == 2 and failure.render().startswith("step 2 at s.yaml:7:5")


@pytest.mark.parametrize("word,meaning", [("on", "true"), ("no", "false"), ("Yes", "true"), ("off", "false")])
def test_a_yaml_1_1_boolean_where_a_word_was_meant_gets_a_hint_to_quote_it(word, meaning):
    (found,) = problems(f"  - expect: {{card: tracker, state: {word}}}\n")
    assert f"YAML reads the unquoted word '{word}' as {meaning}; quote it, '{word}'" in found


def test_true_and_false_written_as_such_get_no_hint():
    (found,) = problems("  - expect: {card: tracker, state: true}\n")
    assert "YAML reads" not in found


def test_every_problem_shows_its_line_with_a_caret_under_the_spot():
    with pytest.raises(ScenarioError) as caught:
        parse_text(HEAD + "  - suspend: trackr\n", "s.yaml")
    text = caught.value.render()
    assert text.splitlines() == [
        "s.yaml:6:14: no card named 'trackr' so far (did you mean 'tracker'?); known: tracker.",
        "  6 |   - suspend: trackr",
        "    |              ^"]
    with pytest.raises(ScenarioError) as syntax:
        parse_text("name: x\nrules: [PLAN-1\nsteps:\n  - advance: 1 day\n", "s.yaml")
    assert "  3 | steps:" in syntax.value.render() and "^" in syntax.value.render()


def test_event_and_ledger_kinds_are_enums_in_the_json_schema():
    schema = json.dumps(document_schema())
    assert '"enum": ["state_changed", "payment"' in schema
    assert set(steps.LEDGER_KINDS) == {"payment", "charge", "refund", "transfer_in", "transfer_out", "payout"}
    committed = json.loads((Path(steps.__file__).parent / "scenario.schema.json").read_text())
    assert committed == document_schema()


def test_check_command_checks_without_running(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(HEAD + "  - advance: 1 day\n")
    assert main(["check", str(good)]) == 0
    assert "1 scenario(s) in 1 file(s): no problems" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "  - suspend: trackr\n  - advance: 3 dayz\n")
    assert main(["check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:6:14: no card named 'trackr'" in captured.out and "unknown unit 'dayz'" in captured.out
    assert "  6 |   - suspend: trackr" in captured.out and "2 problem(s) in 1 file(s)" in captured.err
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2


def test_check_passes_on_the_whole_library(capsys):
    library = Path(steps.__file__).parent / "library"
    assert main(["check", "--quiet", str(library)]) == 0
