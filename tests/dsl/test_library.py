"""The scenario library: every rule id of RULES.md is named by a library scenario on every carrier the rule applies
to, and the library gives the same results in-process and over HTTP. (The library's scenarios themselves run as
pytest items through the plugin: see ``carriersim_scenarios`` in pyproject.toml.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carriersim import scenarios
from carriersim.scenarios.live_server import LiveServer
from carriersim.scenarios.parser import load_paths
from carriersim.scenarios.runner import PASSED, run
from carriersim.scenarios.targets.http import HttpTarget
from carriersim.scenarios.targets.inprocess import InProcessTarget
from carriersim.simulator.catalogue import rules

LIBRARY = Path(scenarios.__file__).parent / "library"
RULES_MD = Path(__file__).resolve().parents[3] / "shared" / "RULES.md"


@pytest.fixture(scope="module")
def library():
    return load_paths([LIBRARY])


def rule_ids_of_rules_md() -> list[str]:
    if RULES_MD.exists():
        return re.findall(r"^- ([A-Z]+-\d+) ", RULES_MD.read_text(encoding="utf-8"), flags=re.M)
    return [r.id for r in rules()]


def test_every_rule_id_is_named_by_a_library_scenario_on_every_carrier_it_applies_to(library):
    covered: dict[str, set[str]] = {}
    for sc in library:
        for rule in sc.rules:
            covered.setdefault(rule, set()).update(sc.carriers)
    ids = rule_ids_of_rules_md()
    assert len(ids) >= 40
    missing = [r for r in ids if r not in covered]
    assert not missing, f"rule ids named by no library scenario: {missing}"
    applies = {r.id: set(r.carriers) for r in rules()}
    thin = {r: sorted(applies[r] - covered[r]) for r in ids if applies[r] - covered[r]}
    assert not thin, f"rules not covered on every carrier they apply to: {thin}"


def test_the_library_gives_the_same_results_in_process_and_over_http(library):
    runs = [(sc, c) for sc in library for c in sc.carriers]
    local = InProcessTarget()
    here = {(sc.id, c): run(sc, c, local) for sc, c in runs}
    with LiveServer() as server:
        remote = HttpTarget(server.url, admin_token=server.admin_token)
        try:
            there = {(sc.id, c): run(sc, c, remote) for sc, c in runs}
        finally:
            remote.close()
    not_passing = {k: o.failure.render() if o.failure else o.reason for k, o in here.items() if o.status != PASSED}
    assert not not_passing, not_passing
    differ = {k: (here[k].status, there[k].status, there[k].failure.render() if there[k].failure else there[k].reason)
              for k in here if here[k].status != there[k].status}
    assert not differ, differ
