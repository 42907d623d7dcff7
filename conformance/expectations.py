"""Expectations files: the known failures of one target, so that CI stays green on what is already known and
turns red on anything new — including a known failure that starts passing (an unexpected pass).

```yaml
target: tinycmp
known_failures:
  - scenario: "quota.yaml::Add-on bought while in arrears"   # file name::scenario name; * and ? wildcards
    carriers: [cmcc]                                         # optional; default every carrier
    reason: TinyCMP sells add-ons on credit
```
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from carriersim.scenarios.runner import ERROR, FAILED, PASSED, Outcome

XFAIL, XPASS = "xfail", "xpass"


@dataclass(frozen=True)
class KnownFailure:
    scenario: str
    carriers: tuple[str, ...]
    reason: str

    def covers(self, outcome: Outcome) -> bool:
        return fnmatch.fnmatchcase(outcome.scenario.id, self.scenario) and (
            not self.carriers or outcome.carrier in self.carriers)


@dataclass(frozen=True)
class Expectations:
    target: str = ""
    known_failures: tuple[KnownFailure, ...] = ()

    def known(self, outcome: Outcome) -> KnownFailure | None:
        return next((k for k in self.known_failures if k.covers(outcome)), None)

    def apply(self, outcome: Outcome) -> Outcome:
        """A failure that is known becomes ``xfail``; a pass that was expected to fail becomes ``xpass``."""
        known = self.known(outcome)
        if known is None:
            return outcome
        if outcome.status in (FAILED, ERROR):
            outcome.status, outcome.reason = XFAIL, f"expected failure: {known.reason}"
        elif outcome.status == PASSED:
            outcome.status, outcome.reason = XPASS, (f"listed as a known failure ({known.reason}) but it passed; "
                                                     "remove it from the expectations file")
        return outcome


class ExpectationsError(ValueError):
    pass


def load_expectations(path: str | Path | None) -> Expectations:
    if path is None:
        return Expectations()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ExpectationsError(f"{path}: cannot read the expectations file ({exc.strerror}).") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date YAML reads but the calendar lacks
        raise ExpectationsError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("known_failures", []), list):
        raise ExpectationsError(f"{path}: expected a mapping with a known_failures list.")
    items = []
    for i, item in enumerate(data.get("known_failures", [])):
        where = f"{path}: known_failures[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("scenario"), str):
            raise ExpectationsError(f"{where}: needs scenario: 'file.yaml::Scenario name'.")
        if not str(item.get("reason", "")).strip():
            raise ExpectationsError(f"{where}: needs a reason (why this target differs).")
        carriers = item.get("carriers", [])
        if not isinstance(carriers, list):
            raise ExpectationsError(f"{where}: carriers must be a list, like [cmcc, cucc].")
        unknown = set(item) - {"scenario", "carriers", "reason"}
        if unknown:
            raise ExpectationsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use scenario, "
                                    "carriers, reason.")
        items.append(KnownFailure(item["scenario"], tuple(map(str, carriers)), str(item["reason"]).strip()))
    return Expectations(str(data.get("target", "")), tuple(items))
