"""JUnit XML stays valid XML whatever a target answers: control characters in refusal messages are escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from carriersim.scenarios.junit import clean, write_junit
from carriersim.scenarios.parser import parse_text
from carriersim.scenarios.runner import Failure, Outcome


def test_control_characters_become_escapes_and_the_file_parses(tmp_path):
    (sc,) = parse_text("name: plain\nrules: [PLAN-1]\nsteps:\n  - advance: 1 day\n", "s.yaml")
    failure = Failure(1, "s.yaml:4:5", "advance: 1 day", "a refusal\x00", "refused: odd (a\x07b\x1bc\x0c)")
    outcomes = [Outcome(sc, "cmcc", "inprocess", "failed", 0.1, failure),
                Outcome(sc, "cucc", "inprocess", "error", 0.1, None, reason="boom\x01\x02 and a tab\tkept")]
    path = tmp_path / "junit.xml"
    write_junit(outcomes, path, suite_name="suite\x08")
    root = ET.parse(path).getroot()  # raises if the XML is not well formed
    text = path.read_text(encoding="utf-8")
    assert "a\\x07b\\x1bc\\x0c" in text and "\\x00" in text and "boom\\x01\\x02" in text
    assert root.find("testsuite").get("name") == "suite\\x08"
    assert "tab\tkept" in root.find("testsuite/testcase/error").text


def test_clean_keeps_ordinary_text_and_newlines():
    assert clean("中国移动\nline two\tend") == "中国移动\nline two\tend"
    assert clean("\ud800") == "\\ud800"


def test_failure_history_shows_times_in_the_carriers_zone():
    from carriersim.scenarios.expect import event_line, local_time
    assert local_time("2027-01-31T16:00:00Z", "Asia/Shanghai") == "2027-02-01T00:00:00+08:00"
    line = event_line({"time": "2027-01-31T16:00:00+00:00", "kind": "expired", "cause": "clock"}, "Asia/Shanghai")
    assert line.startswith("2027-02-01T00:00:00+08:00  expired")
    assert local_time("not a time", "Asia/Shanghai") == "not a time"
