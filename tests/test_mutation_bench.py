"""bench/mutation.py (mutation testing with mutmut) and its committed list of explained survivors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutation_bench", ROOT / "bench" / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)


def test_a_message_mutant_is_told_from_a_code_mutant():
    line = 'raise SimError("card_cancelled", f"Card {card.iccid} is cancelled.")'
    assert mutation.is_message(line, 'raise SimError("card_cancelled", f"XXCard {card.iccid} is cancelled.XX")')
    assert not mutation.is_message(line, 'raise SimError("XXcard_cancelledXX", f"Card {card.iccid} is cancelled.")')
    assert not mutation.is_message("if amount <= 0:", "if amount < 0:")


def test_every_listed_survivor_names_a_real_line_and_says_why_in_one_line():
    data = yaml.safe_load(mutation.EQUIVALENT.read_text(encoding="utf-8"))
    entries = data["equivalent"]
    assert entries, "the list is empty"
    for e in entries:
        assert set(e) == {"file", "line", "mutant", "why"}, e
        source = (ROOT / e["file"]).read_text(encoding="utf-8")
        assert e["file"].startswith(("simulator/rules/", "simulator/engine.py"))
        assert e["line"].strip() in source, f"stale entry (the line is gone): {e}"
        assert e["mutant"] != e["line"] and e["why"].strip() and "\n" not in e["why"]
    keys = [(e["file"], e["line"], e["mutant"]) for e in entries]
    assert len(keys) == len(set(keys)), "an entry is listed twice"


def test_the_header_of_the_list_is_kept_when_it_is_rewritten():
    text = "# a comment that says equivalent: here\n# more\nequivalent: []\n"
    assert mutation._head(text) == "# a comment that says equivalent: here\n# more\n"


def test_the_mutation_group_is_an_optional_dependency_not_a_test_one():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("mutmut") for d in project["mutation"])
    assert not any(d.startswith("mutmut") for d in project["test"])
