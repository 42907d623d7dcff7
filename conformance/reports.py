"""Conformance reports, all from one ``RunResult``: JSON (for tools), JUnit XML (for CI test tabs), and the
rule × carrier matrix as Markdown (for a CI job summary) and as one self-contained HTML file (readable offline).
Every report carries the suite's name and version; every failure its step, expected, found and card history."""

from __future__ import annotations

import html
import json
from pathlib import Path

from carriersim.scenarios.junit import write_junit
from carriersim.scenarios.runner import ERROR, FAILED, Outcome

from .expectations import XPASS
from .results import SYMBOL, WORDS, RunResult, headline

FILES = {"json": "conformance.json", "junit": "junit.xml", "markdown": "matrix.md", "html": "matrix.html"}


def write_reports(result: RunResult, directory: str | Path) -> dict[str, Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in FILES.items()}
    paths["json"].write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_junit(result.outcomes, paths["junit"], suite_name=f"carriersim {result.suite.title}",
                properties={"suite": result.suite.name, "suite_version": result.suite.version,
                            "target": result.target, "verdict": verdict(result), "strict": str(result.strict).lower(),
                            "should_failed": str(result.failed("SHOULD"))})
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    paths["html"].write_text(html_page(result), encoding="utf-8")
    return paths


def _problems(result: RunResult) -> list[Outcome]:
    return [o for o in result.outcomes if o.status in (FAILED, ERROR, XPASS)]


def verdict(result: RunResult) -> str:
    """The headline and the counts: what the terminal prints and every report starts with."""
    shown = ", ".join(f"{n} {WORDS[s]}" for s, n in result.counts().items() if n)
    return f"{headline(result)}: {shown}"


def markdown(result: RunResult) -> str:
    lines = [f"# carriersim conformance: suite {result.suite.title}", "",
             f"{_md_mark(result)} **{verdict(result)}**", "",
             f"Target `{result.target}`, {len(result.outcomes)} scenario runs in {result.seconds:.1f} s, "
             f"started {result.started}.", "",
             "| rule | level | title | " + " | ".join(result.carriers) + " |",
             "|---|---|---|" + "---|" * len(result.carriers)]
    for req in result.suite.requirements:
        row = result.matrix[req.id]
        cells = [_md_cell(row[c].status) if c in row else "" for c in result.carriers]
        lines.append(f"| {req.id} | {req.level} | {req.rule.title} | " + " | ".join(cells) + " |")
    problems = _problems(result)
    if problems:
        lines += ["", "## Failures", ""]
        for o in problems:
            lines += [f"### {o.id} ({o.status})", "", f"Rules: {', '.join(o.scenario.rules)}", "", "```",
                      o.failure.render() if o.failure else o.reason, "```", ""]
    return "\n".join(lines) + "\n"


def _md_mark(result: RunResult) -> str:
    return "❌" if not result.passes else "⚠️" if result.failed("SHOULD") else "✅"


def _md_cell(status: str) -> str:
    return {"passed": "✅ pass", "failed": "❌ FAIL", "error": "⚠️ ERROR", "xfail": "☑️ xfail",
            "xpass": "❗ XPASS", "not_applicable": "n/a", "missing": "—"}.get(status, status)


CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f4f4f4}
.passed{background:#dff5dd}.failed,.error,.missing{background:#fbdada;font-weight:bold}.xfail{background:#eee}
.xpass{background:#ffe9b3;font-weight:bold}.not_applicable{color:#888}pre{background:#f7f7f7;padding:1em;
white-space:pre-wrap;overflow-wrap:anywhere}.verdict{font-size:1.2em;font-weight:bold;padding:.4em .6em}
.verdict.pass{background:#dff5dd;color:#14561a}.verdict.warn{background:#ffe9b3;color:#6b4b00}
.verdict.fail{background:#fbdada;color:#8a1010}td a{color:inherit}
"""


def _verdict_class(result: RunResult) -> str:
    if not result.passes:
        return "fail"
    return "warn" if result.failed("SHOULD") else "pass"


def html_page(result: RunResult) -> str:
    e = html.escape
    problems = _problems(result)
    anchor = {id(o): f"failure-{i}" for i, o in enumerate(problems, 1)}
    rows = []
    for req in result.suite.requirements:
        row = result.matrix[req.id]
        cells = []
        for c in result.carriers:
            if c not in row:
                cells.append("<td></td>")
                continue
            cell = row[c]
            tip = e("; ".join(f"{o.scenario.name}: {o.status}" for o in cell.outcomes) or "no scenario")
            linked = next((anchor[id(o)] for o in cell.outcomes if id(o) in anchor), None)
            text = f'<a href="#{linked}">{SYMBOL[cell.status]}</a>' if linked else SYMBOL[cell.status]
            cells.append(f'<td class="{cell.status}" title="{tip}">{text}</td>')
        rows.append(f"<tr><td>{e(req.id)}</td><td>{req.level}</td><td>{e(req.rule.title)}</td>{''.join(cells)}</tr>")
    failures = "".join(
        f'<h3 id="{anchor[id(o)]}">{e(o.id)} ({o.status})</h3>'
        f"<p>Rules: {e(', '.join(o.scenario.rules))}</p>"
        f"<pre>{e(o.failure.render() if o.failure else o.reason)}</pre>" for o in problems)
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>carriersim conformance "
            f"{e(result.suite.title)}</title><style>{CSS}</style><body>"
            f"<h1>carriersim conformance: suite {e(result.suite.title)}</h1>"
            f'<p class="verdict {_verdict_class(result)}">{e(verdict(result))}</p>'
            f"<p>Target <code>{e(result.target)}</code>; {len(result.outcomes)} scenario runs in "
            f"{result.seconds:.1f} s; started {e(result.started)}.</p>"
            f"<table><tr><th>rule</th><th>level</th><th>title</th>"
            + "".join(f"<th>{e(c)}</th>" for c in result.carriers) + "</tr>" + "".join(rows) + "</table>"
            + (f"<h2>Failures</h2>{failures}" if failures else "") + "</body></html>\n")
