"""The project's own machine-readable rule catalogue (``data/rules.yaml``), written from RULES.md.

Tests check that every rule id is enforced somewhere in the code and tested; the conformance suites read the level
(MUST/SHOULD) and the carriers a rule applies to. The project never needs ``../shared`` at run or test time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    origin: str  # seed | profile | design
    level: str  # MUST | SHOULD
    title: str
    statement: str
    carriers: tuple[str, ...]
    zh: str | None = None


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    data = yaml.safe_load(resources.files("carriersim.simulator.data").joinpath("rules.yaml").read_text("utf-8"))
    return tuple(Rule(r["id"], r["area"], r["origin"], r["level"], r["title"], r["statement"],
                      tuple(r["carriers"]), r.get("zh")) for r in data["rules"])


def rule(rule_id: str) -> Rule:
    for r in rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)


def rule_ids() -> list[str]:
    return [r.id for r in rules()]
