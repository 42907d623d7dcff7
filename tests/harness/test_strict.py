"""Strict mode and the headline: a failing SHOULD requirement is reported plainly ("conforms to MUST; N SHOULD
failed") in the terminal and in every report, and fails the run only with --strict; a failing MUST requirement of
the extended suite fails it (exit 1) with or without --strict."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from carriersim.conformance import suite as suite_module
from carriersim.conformance.cli import main, run_suite
from carriersim.conformance.mutants import all_mutants
from carriersim.conformance.reports import write_reports

# a SHOULD requirement (LIFE-4) that fails on the real simulator: the history never shows a cancellation
FAILING_SHOULD = """
- name: History shows a cancellation that never happened
  rules: [LIFE-4]
  carriers: [cmcc]
  given: {cards: [{id: c, plan: monthly}]}
  steps:
    - expect: {card: c, history: [{kind: state_changed, new_state: cancelled}]}
"""


@pytest.fixture
def should_fails(tmp_path, monkeypatch):
    library = tmp_path / "library"
    shutil.copytree(suite_module.LIBRARY, library)
    (library / "zz_should.yaml").write_text(FAILING_SHOULD, encoding="utf-8")
    monkeypatch.setattr(suite_module, "LIBRARY", library)
    return library


def test_a_should_failure_is_reported_but_passes_without_strict(should_fails, tmp_path, capsys):
    reports = tmp_path / "reports"
    assert main(["conformance", "--suite", "extended", "--carrier", "cmcc", "--report-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "CONFORMS to MUST; 1 SHOULD failed" in " ".join(out.split())
    data = json.loads((reports / "conformance.json").read_text())
    assert data["conforms"] is True and data["passes"] is True and data["should_failed"] == 1
    assert data["headline"].startswith("CONFORMS to MUST; 1 SHOULD failed")
    assert "CONFORMS to MUST; 1 SHOULD failed" in (reports / "matrix.md").read_text()
    page = (reports / "matrix.html").read_text()
    assert "CONFORMS to MUST; 1 SHOULD failed" in page and 'class="verdict warn"' in page
    props = {p.get("name"): p.get("value") for p in ET.parse(reports / "junit.xml").getroot().iter("property")}
    assert props["verdict"].startswith("CONFORMS to MUST; 1 SHOULD failed") and props["should_failed"] == "1"


def test_strict_fails_the_run_on_a_should_failure(should_fails, tmp_path, capsys):
    reports = tmp_path / "reports"
    assert main(["conformance", "--suite", "extended", "--carrier", "cmcc", "--strict",
                 "--report-dir", str(reports)]) == 1
    assert "DOES NOT CONFORM (strict)" in capsys.readouterr().out
    data = json.loads((reports / "conformance.json").read_text())
    assert data["strict"] is True and data["passes"] is False and data["conforms"] is True
    assert 'class="verdict fail"' in (reports / "matrix.html").read_text()


def test_strict_passes_when_nothing_fails(capsys):
    assert main(["conformance", "--suite", "extended", "--carrier", "ctcc", "--strict"]) == 0
    assert "CONFORMS to carriersim extended" in capsys.readouterr().out


def test_the_extended_suite_exits_non_zero_when_its_must_requirements_fail(capsys):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    with mutant.applied():
        assert main(["conformance", "--suite", "extended", "--carrier", "cmcc"]) == 1
    assert "DOES NOT CONFORM to carriersim extended" in capsys.readouterr().out


def test_html_cells_link_to_their_failures_and_failure_text_wraps(tmp_path):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    broken = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name)
    page = write_reports(broken, tmp_path)["html"].read_text()
    link = page.split('<td class="failed"', 1)[1].split("</td>", 1)[0]
    target = link.split('href="#', 1)[1].split('"', 1)[0]
    assert f'<h3 id="{target}">' in page
    assert "white-space:pre-wrap" in page and 'class="verdict fail"' in page


def test_the_terminal_headline_is_coloured_by_verdict(should_fails):
    from carriersim.conformance.cli import headline_colour
    assert headline_colour(run_suite("core", "inprocess", carriers=["cucc"])) == "green"
    warned = run_suite("extended", "inprocess", carriers=["cmcc"])
    assert warned.failed("SHOULD") == 1 and headline_colour(warned) == "yellow"
    strict = run_suite("extended", "inprocess", carriers=["cmcc"], strict=True)
    assert headline_colour(strict) == "red" and not strict.passes
