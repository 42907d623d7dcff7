"""The conformance mutants (``conformance/mutants``): each module is a well-formed mutant of one catalogued rule, and
leaving a mutant's context gives back the real simulator. (Whether the suite catches every mutant is tested with
the conformance harness.)"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import carriersim.conformance.mutants as package
from carriersim import scenarios
from carriersim.conformance.mutants import Mutant, all_mutants
from carriersim.scenarios.parser import load_paths
from carriersim.scenarios.runner import PASSED, run
from carriersim.scenarios.targets.inprocess import InProcessTarget
from carriersim.simulator.catalogue import rule_ids

LIBRARY = Path(scenarios.__file__).parent / "library"
MODULES = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
MUTANTS = all_mutants()


@pytest.fixture(scope="module")
def library():
    return load_paths([LIBRARY])


@pytest.mark.parametrize("name", MODULES)
def test_every_mutant_module_defines_a_mutant_of_a_catalogued_rule(name):
    module = importlib.import_module(f"carriersim.conformance.mutants.{name}")
    mutant = getattr(module, "MUTANT", None)
    assert isinstance(mutant, Mutant), f"conformance/mutants/{name}.py defines no MUTANT = Mutant(...)"
    assert mutant.name == name, "a mutant is named after its module"
    assert mutant.rule in rule_ids(), f"{mutant.rule} is not a rule id of the catalogue"
    assert mutant.description.strip()
    assert (module.__doc__ or "").strip(), "the module docstring says why the mutant is a realistic fault"
    assert mutant.patches
    for target, replacement in mutant.patches:
        original = pkgutil.resolve_name(target)  # the patched attribute exists in the real simulator
        assert callable(replacement) and replacement is not original


def test_there_are_at_least_12_mutants_with_unique_names():
    assert len(MUTANTS) >= 12
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert len(MUTANTS) == len(MODULES)


def _scenarios_of(rule: str, library: list) -> list:
    """The library scenarios that name the rule (every scenario when none does)."""
    return [sc for sc in library if rule in sc.rules] or list(library)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_leaving_a_mutant_gives_back_the_real_simulator(mutant, library):
    assert library, "the scenario library is empty"
    before = {target: pkgutil.resolve_name(target) for target, _ in mutant.patches}
    chosen = _scenarios_of(mutant.rule, library)
    with mutant.applied():
        for target, replacement in mutant.patches:
            assert pkgutil.resolve_name(target) is replacement
        broken = InProcessTarget()  # a simulation created under the mutant, as the harness does
        for sc in chosen:
            for carrier in sc.carriers:
                run(sc, carrier, broken)
    assert {target: pkgutil.resolve_name(target) for target, _ in mutant.patches} == before
    real = InProcessTarget()
    not_passing = {o.id: o.failure.render() if o.failure else o.reason
                   for sc in chosen for carrier in sc.carriers
                   if (o := run(sc, carrier, real)).status != PASSED}
    assert not not_passing, not_passing
