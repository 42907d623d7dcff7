"""Broken scenario files: every problem names the file, line and column, says what was expected, and offers the
nearest valid word for a misspelt one. Nothing runs while a file is broken."""

from __future__ import annotations

import pytest

from carriersim.conformance.cli import main
from carriersim.scenarios.parser import load_paths, parse_text
from carriersim.scenarios.source import ScenarioError

HEAD = "name: x\nrules: [PLAN-1]\n"
CARD = HEAD + "given:\n  cards: [{id: tracker}]\nsteps:\n"

BROKEN = [
    ("bad indentation", HEAD + "steps:\n  - advance: 1 day\n   - advance: 2 days\n",
     "5:4", ["YAML syntax", "Check the indentation"]),
    ("tab indentation", HEAD + "steps:\n\t- advance: 1 day\n", "4:1", ["Indent with spaces"]),
    ("unclosed bracket", "name: x\nrules: [PLAN-1\nsteps:\n  - advance: 1 day\n", "3:6", ["expected ',' or ']'"]),
    ("unknown step", HEAD + "steps:\n  - advence: 1 day\n", "4:5", ["unknown step 'advence'",
                                                                     "did you mean 'advance'?"]),
    ("misspelt field", HEAD + "given:\n  cards:\n    - {id: c, plna: monthly}\nsteps:\n  - advance: 1 day\n",
     "5:15", ["unknown field 'plna' in given.cards[0]", "did you mean 'plan'?"]),
    ("misspelt top-level field", HEAD + "step:\n  - advance: 1 day\n", "3:1",
     ["unknown field 'step'", "did you mean 'steps'?"]),
    ("wrong type", CARD + "  - use: {card: tracker, mb: lots}\n", "6:30",
     ["step 1 use.mb should be a non-negative number, not 'lots'"]),
    ("wrong type of money", CARD + "  - top_up: {card: tracker, amount: ten}\n", "6:37", ["amount in CNY"]),
    ("bad duration", HEAD + "steps:\n  - advance: 3 dayz\n", "4:14", ["unknown unit 'dayz'"]),
    ("bad point in time", HEAD + "steps:\n  - advance: next_cylce\n", "4:14", ["did you mean 'next_cycle'?"]),
    ("impossible date", HEAD + "given:\n  start: 2027-02-30T00:00:00\nsteps:\n  - advance: 1 day\n", "4:10",
     ["'2027-02-30T00:00:00' is not a valid time"]),
    ("unknown carrier", HEAD + "carriers: [cmcc, cmc]\nsteps:\n  - advance: 1 day\n", "3:18",
     ["unknown carrier 'cmc'", "did you mean 'cmcc'?"]),
    ("unknown rule id", "name: x\nrules: [PLAN-9]\nsteps:\n  - advance: 1 day\n", "2:9",
     ["'PLAN-9' is not a rule id", "did you mean 'PLAN-3'?"]),
    ("unknown card", CARD + "  - suspend: trackr\n", "6:14", ["no card named 'trackr'", "did you mean 'tracker'?"]),
    ("misspelt state", CARD + "  - expect: {state: suspnded}\n", "6:21", ["did you mean 'suspended'?"]),
    ("misspelt expectation", CARD + "  - expect: {balanse: 5}\n", "6:14", ["did you mean 'balance'?"]),
    ("two actions in a step", HEAD + "steps:\n  - advance: 1 day\n    suspend: tracker\n", "5:5",
     ["two actions ('advance' and 'suspend')"]),
    ("misspelt variable", CARD + "  - advance: ${profil.retention.months} months\n", "6:14",
     ["nothing is named 'profil'", "did you mean 'profile'?"]),
    ("duplicate key", "name: x\nname: y\nrules: [PLAN-1]\nsteps:\n  - advance: 1 day\n", "2:1", ["given twice"]),
    ("within on an action", HEAD + "steps:\n  - advance: 1 day\n    within: 2 days\n", "5:5",
     ["'within' belongs to expectations"]),
    ("missing name", "rules: [PLAN-1]\nsteps:\n  - advance: 1 day\n", "1:1", ["the scenario needs name"]),
    ("step is not a mapping", HEAD + "steps:\n  - advance\n", "4:5", ["should be a mapping like"]),
]


@pytest.mark.parametrize("label,text,position,phrases", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_is_reported_with_file_line_column(label, text, position, phrases):
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "broken.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(f"broken.yaml:{position}: ") for m in messages), messages
    joined = "\n".join(messages)
    for phrase in phrases:
        assert phrase in joined


def test_every_problem_of_every_file_is_reported_together(tmp_path):
    (tmp_path / "a.yaml").write_text(HEAD + "steps:\n  - advence: 1 day\n")
    (tmp_path / "b.yaml").write_text(HEAD + "carriers: [cmc]\nsteps:\n  - advance: 3 dayz\n")
    with pytest.raises(ScenarioError) as caught:
        load_paths([tmp_path])
    where = sorted(f"{p.where.file.rsplit('/', 1)[-1]}:{p.where.line}" for p in caught.value.problems)
    assert where == ["a.yaml:4", "b.yaml:3", "b.yaml:5"]


def test_a_broken_file_stops_the_whole_run_before_anything_runs(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(CARD + "  - expect: {state: active}\n")
    (tmp_path / "bad.yaml").write_text(CARD + "  - expect: {state: activ}\n")
    assert main(["run", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "bad.yaml:6:21" in out.err and "did you mean 'active'?" in out.err
    assert "nothing was run" in out.err
    assert "passed" not in out.out


def test_a_missing_path_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(ScenarioError, match="no such file or folder"):
        load_paths([tmp_path / "nope.yaml"])


@pytest.mark.parametrize("text,position,phrase", [
    (CARD + "  - suspend: tracker\n    retruns: {state: suspended}\n", "7:5", "did you mean 'returns'?"),
    (CARD + "  - suspend: tracker\n    as: nobody\n", "7:9", "no account named 'nobody'"),
    (CARD + "  - expect: {events: []}\n", "6:22", "should be non-empty"),
])
def test_misspelt_modifiers_unknown_actors_and_empty_pattern_lists(text, position, phrase):
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "broken.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(f"broken.yaml:{position}: ") and phrase in m for m in messages), messages
