"""The project's rule catalogue: every rule id is enforced in the code and tested, and (when ../shared is beside
the checkout) the catalogue matches RULES.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carriersim.simulator.catalogue import rule, rule_ids, rules

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT.parent / "shared" / "RULES.md"
ID = re.compile(r"\b([A-Z]+-\d+)\b")


def _ids_in(folder: Path, pattern: str) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob(pattern):
        found |= set(ID.findall(path.read_text("utf-8")))
    return found


def test_catalogue_is_well_formed():
    ids = rule_ids()
    assert len(ids) == len(set(ids)) >= 41
    for r in rules():
        assert r.level in ("MUST", "SHOULD")
        assert r.origin in ("seed", "profile", "design")
        assert (r.level == "SHOULD") == (r.origin == "design")
        assert set(r.carriers) <= {"cmcc", "cucc", "ctcc"} and r.carriers
        assert r.statement and r.title
    assert rule("RET-2").level == "MUST"


def test_every_rule_is_named_where_the_code_enforces_it():
    in_code = _ids_in(ROOT / "simulator", "*.py")
    missing = [i for i in rule_ids() if i not in in_code]
    assert not missing, f"rules not named in simulator/: {missing}"


def test_every_rule_has_a_test_named_after_it():
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        names |= {m.upper().replace("_", "-") for m in re.findall(r"def test_([a-z]+\d+)_", path.read_text("utf-8"))}
    normalised = {re.sub(r"([A-Z]+)(\d+)", r"\1-\2", n) for n in names}
    missing = [i for i in rule_ids() if i not in normalised]
    assert not missing, f"rules without a test named test_<id>_…: {missing}"


@pytest.mark.skipif(not RULES_MD.exists(), reason="../shared/RULES.md is not beside this checkout")
def test_catalogue_matches_rules_md():
    text = RULES_MD.read_text("utf-8")
    in_spec = re.findall(r"^- ([A-Z]+-\d+) ", text, flags=re.MULTILINE)
    assert in_spec == rule_ids()
