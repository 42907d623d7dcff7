"""``carriersim run``: exit codes for CI, the summary, -k, --carrier and JUnit output."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from carriersim.conformance.cli import main

GOOD = """\
- name: quota stop
  rules: [QUOTA-1]
  given: {cards: [{id: tracker}]}
  steps:
    - use: {mb: 1000}
    - expect: {state: suspended, reasons: [quota]}
- name: plan change waits
  rules: [PLAN-1]
  carriers: [cmcc]
  given: {cards: [{id: tracker, balance: 20}]}
  steps:
    - change_plan: {plan: monthly:2}
    - expect: {plan: monthly}
"""
BAD = """\
name: broken expectation
rules: [MAN-1]
carriers: [cucc]
given: {cards: [{id: tracker}]}
steps:
  - suspend: tracker
  - expect: {state: active}
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(BAD)
    return tmp_path


def test_all_passing_exits_zero_with_a_summary(files, capsys):
    assert main(["run", str(files / "good.yaml")]) == 0
    out = capsys.readouterr().out
    assert "4 runs on inprocess" in out and "4 passed" in out
    assert "good.yaml::quota stop" in out


def test_a_failure_exits_one_and_prints_step_expected_found(files, capsys):
    assert main(["run", str(files)]) == 1
    out = capsys.readouterr().out
    assert "FAILED bad.yaml::broken expectation[cucc]" in out
    assert "step 2 at" in out and "expected: {state: active}" in out
    assert "found:    state: expected active, found suspended" in out
    assert "4 passed, 1 failed" in out


def test_keyword_and_carrier_select(files, capsys):
    assert main(["run", str(files), "-k", "quota and not plan", "--carrier", "ctcc"]) == 0
    assert "1 runs on inprocess" in capsys.readouterr().out
    assert main(["run", str(files), "-k", "MAN-1"]) == 1
    assert main(["run", str(files), "-k", "nothing-matches"]) == 1


def test_junit_report(files, tmp_path):
    report = tmp_path / "out" / "junit.xml"
    main(["run", str(files), "--junit", str(report)])
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "1"
    failure = suite.find(".//testcase[@name='broken expectation [cucc]']/failure")
    assert "expected: {state: active}" in failure.text
    rules = [p.get("value") for p in suite.findall(".//testcase[@name='quota stop [cmcc]']/properties/property")]
    assert rules == ["QUOTA-1"]


def test_a_bad_target_is_a_clear_error(files, capsys):
    assert main(["run", str(files), "--target", "ftp://nowhere"]) == 2
    assert "Unknown target" in capsys.readouterr().err


def test_a_bad_keyword_expression_is_a_clear_error(files, capsys):
    assert main(["run", str(files), "-k", "quota stop"]) == 2
    assert "-k 'quota stop': cannot read 'stop'" in capsys.readouterr().err


def test_an_unreachable_or_unauthorised_target_stops_before_anything_runs(files, capsys):
    from carriersim.scenarios.live_server import LiveServer
    assert main(["run", str(files), "--target", "http://127.0.0.1:9"]) == 2
    assert "cannot be used" in capsys.readouterr().err
    with LiveServer() as server:
        assert main(["run", str(files), "--target", server.url, "--admin-token", "wrong"]) == 2
        assert "refused the credentials (401)" in capsys.readouterr().err
        assert main(["run", str(files / "good.yaml"), "--target", server.url,
                     "--admin-token", server.admin_token]) == 0
