"""The README's scenario example runs and passes on every carrier, is at most 15 lines, and its scenario reference
is the one generated from the step table."""

from __future__ import annotations

import re
from pathlib import Path

from carriersim.scenarios.parser import parse_text
from carriersim.scenarios.reference import BEGIN, END, reference
from carriersim.scenarios.runner import PASSED, run
from carriersim.scenarios.targets.inprocess import InProcessTarget

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_example_scenario_passes_on_every_carrier():
    text = README.read_text(encoding="utf-8")
    example = re.search(r"<!-- example-scenario -->\n```yaml\n(.*?)```", text, re.S).group(1)
    assert len(example.strip().splitlines()) <= 15
    (scenario,) = parse_text(example, "README.md")
    target = InProcessTarget()
    for carrier in scenario.carriers:
        outcome = run(scenario, carrier, target)
        assert outcome.status == PASSED, outcome.failure.render() if outcome.failure else outcome.reason
    assert len(scenario.carriers) == 3


def test_the_scenario_reference_is_current():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN):text.index(END) + len(END)]
    assert block == reference(), "regenerate with: python -m carriersim.scenarios.reference --write README.md"
