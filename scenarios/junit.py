"""JUnit XML for CI systems: one test case per scenario × carrier, failures with step, expected, found and the
card's recent history; not-applicable runs and known failures (xfail) as skipped, an unexpected pass (xpass) as a
failure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from .runner import ERROR, FAILED, NOT_APPLICABLE, Outcome

# characters XML 1.0 does not allow at all (tab, newline and carriage return are fine), and surrogates
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean(text: object) -> str:
    """Text safe in XML 1.0: a control character a target put in a message becomes its escape, ``\\x07``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                        f"\\u{ord(m.group()):04x}", str(text))


def _cleaned(root: ET.Element) -> ET.Element:
    for node in root.iter():
        node.attrib.update({k: clean(v) for k, v in node.attrib.items()})
        if node.text:
            node.text = clean(node.text)
        if node.tail:
            node.tail = clean(node.tail)
    return root


def junit_tree(outcomes: Iterable[Outcome], suite_name: str, properties: dict[str, str] | None = None) -> ET.Element:
    outcomes = list(outcomes)
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(outcomes)),
                       failures=str(sum(o.status in (FAILED, "xpass") for o in outcomes)),
                       errors=str(sum(o.status == ERROR for o in outcomes)),
                       skipped=str(sum(o.status in (NOT_APPLICABLE, "xfail") for o in outcomes)),
                       time=f"{sum(o.seconds for o in outcomes):.3f}")
    if properties:
        props = ET.SubElement(suite, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value=value)
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=Path(o.scenario.file).stem,
                             name=f"{o.scenario.name} [{o.carrier}]", time=f"{o.seconds:.3f}",
                             file=o.scenario.file, line=str(o.scenario.where.line))
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="rule", value=r) for r in o.scenario.rules])
        if o.status == FAILED and o.failure:
            node = ET.SubElement(case, "failure", message=f"step {o.failure.step}: expected {o.failure.expected}")
            node.text = o.failure.render()
        elif o.status == ERROR:
            node = ET.SubElement(case, "error", message=o.reason[:200])
            node.text = o.failure.render() if o.failure else o.reason
        elif o.status == NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message=f"not applicable: {o.reason}")
        elif o.status == "xfail":  # a known failure (conformance expectations): visible, not red
            node = ET.SubElement(case, "skipped", type="xfail", message=o.reason[:200])
            node.text = o.failure.render() if o.failure else o.reason
        elif o.status == "xpass":  # listed as a known failure, but it passed: the list is stale
            ET.SubElement(case, "failure", type="xpass", message=o.reason[:200])
    return _cleaned(suite)


def write_junit(outcomes: Iterable[Outcome], path: str | Path, suite_name: str,
                properties: dict[str, str] | None = None) -> None:
    root = ET.Element("testsuites")
    root.append(junit_tree(outcomes, suite_name, properties))
    ET.indent(root)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
