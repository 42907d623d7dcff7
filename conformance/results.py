"""From outcomes to a verdict: each requirement (rule × carrier) takes the worst status of the scenarios that
check it, and a run conforms when no MUST requirement failed (an expected failure does not count)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Any

from carriersim.scenarios.runner import ERROR, FAILED, NOT_APPLICABLE, PASSED, Outcome

from .expectations import XFAIL, XPASS
from .suite import Requirement, Suite

MISSING = "missing"  # no scenario checks this rule on this carrier
ORDER = [FAILED, ERROR, XPASS, XFAIL, PASSED, NOT_APPLICABLE, MISSING]  # worst first
SYMBOL = {PASSED: "pass", FAILED: "FAIL", ERROR: "ERROR", XFAIL: "xfail", XPASS: "XPASS",
          NOT_APPLICABLE: "n/a", MISSING: "-"}
WORDS = {PASSED: "passed", FAILED: "failed", ERROR: "errors", XFAIL: "expected failures",
         XPASS: "unexpected passes", NOT_APPLICABLE: "not applicable", MISSING: "unchecked (no scenario)"}


def headline(result: "RunResult") -> str:
    """The verdict in words, the same in the terminal and in every report: "CONFORMS to MUST; 2 SHOULD failed …"."""
    must, should = result.failed("MUST"), result.failed("SHOULD")
    suite = f"carriersim {result.suite.title} ({result.suite.level} rules)"
    if not result.conforms:
        why = f"{must} MUST failed" if must else "no requirement passed"
        text = f"DOES NOT CONFORM to {suite}: {why}" + (f"; {should} SHOULD failed" if should else "")
    elif should and result.strict:
        text = f"DOES NOT CONFORM (strict) to {suite}: conforms to MUST; {should} SHOULD failed"
    elif should:
        text = f"CONFORMS to MUST; {should} SHOULD failed — {suite}"
    else:
        text = f"CONFORMS to {suite}"
    if result.conforms and result.counts()[NOT_APPLICABLE]:
        text += " (within its capabilities)"
    return text


@dataclass
class Cell:
    status: str
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class RunResult:
    suite: Suite
    target: str
    carriers: list[str]
    outcomes: list[Outcome]
    seconds: float
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)
    strict: bool = False  # --strict: a failing SHOULD requirement fails the run too

    def __post_init__(self) -> None:
        by_key: dict[tuple[str, str], Outcome] = {(o.scenario.id, o.carrier): o for o in self.outcomes}
        for req in self.suite.requirements:
            row: dict[str, Cell] = {}
            for carrier in self.carriers:
                if carrier not in req.rule.carriers:
                    continue
                found = [by_key[(sc.id, carrier)] for sc in req.scenarios if (sc.id, carrier) in by_key]
                status = min((o.status for o in found), key=ORDER.index) if found else MISSING
                row[carrier] = Cell(status, found)
            self.matrix[req.id] = row

    def requirement(self, rule_id: str) -> Requirement:
        return next(r for r in self.suite.requirements if r.id == rule_id)

    @property
    def failing(self) -> list[tuple[Requirement, str]]:
        """(requirement, carrier) pairs that failed or errored, or that no scenario checks."""
        return [(self.requirement(rid), c) for rid, row in self.matrix.items() for c, cell in row.items()
                if cell.status in (FAILED, ERROR, MISSING)]

    @property
    def conforms(self) -> bool:
        """No MUST requirement fails: each passes, is an expected failure, or is not applicable to what the target
        declares it can do (the report says how many); and at least one requirement passed — a target that can do
        nothing the suite checks does not conform to it."""
        return not any(req.level == "MUST" for req, _ in self.failing) and self.counts()[PASSED] > 0

    def failed(self, level: str) -> int:
        """How many requirements (rule × carrier) of this level fail."""
        return sum(1 for req, _ in self.failing if req.level == level)

    @property
    def passes(self) -> bool:
        """The run's exit verdict: it conforms, and under ``strict`` no SHOULD requirement fails either."""
        return self.conforms and not (self.strict and self.failed("SHOULD"))

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ORDER}
        for row in self.matrix.values():
            for cell in row.values():
                out[cell.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": {"name": self.suite.name, "version": self.suite.version, "level": self.suite.level,
                      "levels": list(self.suite.levels)},
            "target": self.target, "carriers": self.carriers, "started": self.started,
            "seconds": round(self.seconds, 3), "conforms": self.conforms, "strict": self.strict,
            "passes": self.passes, "must_failed": self.failed("MUST"), "should_failed": self.failed("SHOULD"),
            "headline": headline(self), "counts": self.counts(),
            "environment": {"python": platform.python_version(), "platform": platform.platform()},
            "requirements": [
                {"rule": req.id, "level": req.level, "title": req.rule.title,
                 "carriers": {c: {"status": cell.status, "scenarios": [o.scenario.id for o in cell.outcomes]}
                              for c, cell in self.matrix[req.id].items()}}
                for req in self.suite.requirements],
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
