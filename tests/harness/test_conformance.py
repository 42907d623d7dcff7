"""The conformance harness: suites by level, expectations, verdicts and exit codes, reports, parallel runs,
targets (in-process, a real ``carriersim serve``, plugins), and mutants caught."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from carriersim.conformance.cli import main, run_suite
from carriersim.conformance.expectations import ExpectationsError, load_expectations
from carriersim.conformance.mutants import all_mutants
from carriersim.conformance.reports import write_reports
from carriersim.conformance.suite import load_suite
from carriersim.scenarios.live_server import ServeProcess
from carriersim.simulator.catalogue import rules


@pytest.fixture(scope="module")
def core():
    return run_suite("core", "inprocess")


def test_suites_gather_rules_by_level_each_with_its_scenarios():
    core, extended = load_suite("core"), load_suite("extended")
    assert {r.id for r in core.requirements} == {r.id for r in rules() if r.level == "MUST"}
    assert {r.id for r in extended.requirements} == {r.id for r in rules()}  # MUST and SHOULD
    assert all(req.scenarios for req in core.requirements + extended.requirements)
    assert core.version and extended.version


def test_core_passes_in_process(core):
    assert core.conforms, [f"{r.id}[{c}]" for r, c in core.failing]
    assert core.counts()["passed"] == sum(len(row) for row in core.matrix.values())


def test_core_gives_identical_results_against_carriersim_serve(core):
    with ServeProcess() as server:
        remote = run_suite("core", server.url, admin_token=server.admin_token)
    assert remote.conforms
    assert [(o.id, o.status) for o in remote.outcomes] == [(o.id, o.status) for o in core.outcomes]


def test_parallel_workers_give_the_same_results(core):
    parallel = run_suite("core", "inprocess", jobs=2)
    assert [(o.id, o.status) for o in parallel.outcomes] == [(o.id, o.status) for o in core.outcomes]


def test_extended_suite_passes_and_exit_code_is_zero(capsys):
    assert main(["conformance", "--suite", "extended", "--carrier", "cucc"]) == 0
    out = capsys.readouterr().out
    assert "suite extended 2.0.0" in out and "CONFORMS to carriersim extended 2.0.0 (MUST+SHOULD rules)" in out


def test_reports_carry_the_version_and_every_failure_in_detail(tmp_path):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    broken = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name)
    assert not broken.conforms
    paths = write_reports(broken, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["suite"] == {"name": "core", "version": "1.1.0", "level": "MUST", "levels": ["MUST"]}
    assert data["conforms"] is False and data["passes"] is False
    plan1 = next(r for r in data["requirements"] if r["rule"] == "PLAN-1")
    assert plan1["carriers"]["cmcc"]["status"] == "failed"
    failed = [o for o in data["outcomes"] if o["status"] == "failed"]
    assert failed and all(o["failure"]["expected"] and o["failure"]["found"] for o in failed)
    assert any(o["failure"]["history"] for o in failed)
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite.find("properties/property[@name='suite_version']").get("value") == "1.1.0"
    assert int(suite.get("failures")) == len(failed)
    md = paths["markdown"].read_text()
    assert "suite core 1.1.0" in md and "| PLAN-1 | MUST |" in md and "❌ FAIL" in md and "expected:" in md
    page = paths["html"].read_text()
    assert page.startswith("<!doctype html>") and "core 1.1.0" in page and 'class="failed"' in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # one file, nothing fetched


def test_exit_code_is_one_when_a_must_requirement_fails(tmp_path, monkeypatch, capsys):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    with mutant.applied():
        assert main(["conformance", "--carrier", "cmcc", "--report-dir", str(tmp_path)]) == 1
    assert "DOES NOT CONFORM" in capsys.readouterr().out
    assert (tmp_path / "matrix.md").exists()


def test_expectations_turn_known_failures_into_xfail_and_flag_unexpected_passes(tmp_path):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    first = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name)
    failing = sorted({o.scenario.id for o in first.outcomes if o.status == "failed"})
    known = tmp_path / "known.yaml"
    known.write_text("target: mutant\nknown_failures:\n" + "".join(
        f"  - scenario: {s!r}\n    reason: plan changes apply at once here\n" for s in failing)
        + "  - scenario: 'billing.yaml::*'\n    carriers: [cmcc]\n    reason: pretend\n")
    judged = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name, expectations=str(known))
    assert judged.conforms
    statuses = {o.status for o in judged.outcomes}
    assert "xfail" in statuses and "failed" not in statuses
    assert any(o.status == "xpass" and "remove it" in o.reason for o in judged.outcomes)


@pytest.mark.parametrize("text,message", [
    ("known_failures: [{reason: x}]", "needs scenario"),
    ("known_failures: [{scenario: 'a::b'}]", "needs a reason"),
    ("known_failures: [{scenario: 'a::b', reason: r, carrier: [cmcc]}]", r"unknown field\(s\) carrier"),
    ("known_failures: {scenario: x}", "known_failures list"),
    ("known_failures: [", "not valid YAML"),
])
def test_bad_expectations_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "e.yaml"
    path.write_text(text)
    with pytest.raises(ExpectationsError, match=message):
        load_expectations(path)


def test_bad_options_are_clear_errors(capsys):
    assert main(["conformance", "--target", "plugin:nope"]) == 2
    assert "No target plugin 'nope'" in capsys.readouterr().err
    assert main(["conformance", "--jobs", "2", "--target", "http://127.0.0.1:9"]) == 2
    assert "cannot be used" in capsys.readouterr().err  # nothing answers there: said once, before anything runs
    assert main(["conformance", "--expectations", "/nonexistent.yaml"]) == 2


def test_there_are_at_least_twelve_mutants_each_breaking_a_catalogued_rule():
    mutants = all_mutants()
    assert len(mutants) >= 12
    ids = {r.id for r in rules()}
    assert all(m.rule in ids for m in mutants)


@pytest.mark.parametrize("mutant", all_mutants(), ids=lambda m: m.name)
def test_every_mutant_is_caught_by_a_requirement(mutant):
    result = run_suite("core", "inprocess", mutant=mutant.name)
    extended = run_suite("extended", "inprocess", mutant=mutant.name)
    caught = result.failing + extended.failing
    assert caught, f"mutant {mutant.name} ({mutant.rule}: {mutant.description}) is not caught by any requirement"


def test_mutants_command_prints_which_requirement_caught_each(capsys):
    assert main(["conformance", "--mutants", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(all_mutants())} of {len(all_mutants())} mutants caught" in out


def test_the_suite_judges_by_the_shipped_profiles_not_the_targets_own():
    """A China Mobile that keeps numbers four months, and says so in its profile, still fails RET-2."""
    from carriersim.conformance.execution import reference_profiles
    from carriersim.scenarios.runner import run
    from carriersim.scenarios.targets.inprocess import InProcessTarget
    from carriersim.simulator.profile import builtin_profile, builtin_profiles, parse_profile

    raw = dict(builtin_profile("cmcc").raw, retention={"months": 4, "monthly_fee": "5.00"})
    lenient = parse_profile(raw, "cmcc-4-months.yaml")
    target = InProcessTarget(profiles=[lenient] + [p for p in builtin_profiles() if p.id != "cmcc"])
    ret2 = next(r for r in load_suite("core").requirements if r.id == "RET-2")
    judged = [run(sc, "cmcc", target, reference=reference_profiles()) for sc in ret2.scenarios if "cmcc" in sc.carriers]
    assert any(o.status == "failed" for o in judged)
    own = [run(sc, "cmcc", target) for sc in ret2.scenarios if "cmcc" in sc.carriers]  # its own word: passes
    assert all(o.status == "passed" for o in own)


def test_known_failures_and_unexpected_passes_are_visible_in_junit(tmp_path):
    mutant = next(m for m in all_mutants() if m.rule == "PLAN-1")
    first = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name)
    failing = sorted({o.scenario.id for o in first.outcomes if o.status == "failed"})
    known = tmp_path / "known.yaml"
    known.write_text("known_failures:\n" + "".join(f"  - {{scenario: {s!r}, reason: at once}}\n" for s in failing)
                     + "  - {scenario: 'billing.yaml::*', reason: stale}\n")
    judged = run_suite("core", "inprocess", carriers=["cmcc"], mutant=mutant.name, expectations=str(known))
    suite = ET.parse(write_reports(judged, tmp_path / "r")["junit"]).getroot().find("testsuite")
    assert suite.findall(".//skipped[@type='xfail']") and suite.findall(".//failure[@type='xpass']")


def test_a_target_that_can_do_nothing_the_suite_checks_does_not_conform():
    from carriersim.conformance.results import RunResult
    from carriersim.scenarios.runner import NOT_APPLICABLE, Outcome
    suite = load_suite("core")
    runs = suite.runs(["cmcc"])
    outcomes = [Outcome(sc, c, "nothing", NOT_APPLICABLE, 0.0, reason="the target lacks everything") for sc, c in runs]
    result = RunResult(suite, "nothing", ["cmcc"], outcomes, 0.0)
    assert not result.failing and not result.conforms


def test_an_unknown_carrier_is_an_error_not_an_empty_pass(capsys):
    assert main(["conformance", "--carrier", "cmc"]) == 2
    assert "did you mean 'cmcc'?" in capsys.readouterr().err
