"""Suites: named, versioned sets of requirements. A requirement is a rule id with its level (MUST/SHOULD) and the
library scenarios that name it; the suite file says which level it gathers. The scenarios live in one library, so a
rule is checked the same way in every suite that holds it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from carriersim import scenarios
from carriersim.scenarios.model import Scenario
from carriersim.scenarios.parser import load_paths
from carriersim.simulator.catalogue import Rule, rules

SUITES_DIR = Path(__file__).parent / "suites"
LIBRARY = Path(scenarios.__file__).parent / "library"


@dataclass(frozen=True)
class Requirement:
    rule: Rule
    scenarios: tuple[Scenario, ...]

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def level(self) -> str:
        return self.rule.level

    def carriers(self) -> list[str]:
        """The carriers the rule applies to, in catalogue order."""
        return list(self.rule.carriers)


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    levels: tuple[str, ...]  # the rule levels it gathers: MUST, SHOULD
    description: str
    requirements: tuple[Requirement, ...]

    @property
    def level(self) -> str:
        """The levels as one word for reports: ``MUST`` or ``MUST+SHOULD``."""
        return "+".join(self.levels)

    @property
    def title(self) -> str:
        return f"{self.name} {self.version}"

    def runs(self, carriers: list[str] | None = None) -> list[tuple[Scenario, str]]:
        """Every (scenario, carrier) the suite needs, each once, in library order."""
        seen: set[tuple[str, str]] = set()
        out = []
        for req in self.requirements:
            for sc in req.scenarios:
                for carrier in sc.carriers:
                    if carrier in req.rule.carriers and (not carriers or carrier in carriers) \
                            and (sc.id, carrier) not in seen:
                        seen.add((sc.id, carrier))
                        out.append((sc, carrier))
        return out


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name: str, library: list[Path] | None = None) -> Suite:
    """The suite called ``name`` (``core``, ``extended``) over the scenario library (or the given folders)."""
    path = SUITES_DIR / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"No suite {name!r}; the suites are {', '.join(suite_names())}.")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    levels = tuple(spec.get("levels") or [spec["level"]])
    library_scenarios = load_paths(library or [LIBRARY])
    requirements = []
    for rule in rules():
        if rule.level not in levels:
            continue
        naming = tuple(sc for sc in library_scenarios if rule.id in sc.rules)
        requirements.append(Requirement(rule, naming))
    return Suite(spec["name"], str(spec["version"]), levels, spec.get("description", ""),
                 tuple(requirements))
