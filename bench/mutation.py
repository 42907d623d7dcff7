"""Mutation testing of the rule engine with mutmut: how many small faults in ``simulator/rules/`` and
``simulator/engine.py`` the ``core`` conformance suite catches. Last line: one JSON object with the score.

    pip install -e '.[mutation]'
    nice -n 10 python bench/mutation.py [--budget SECONDS] [--workdir DIR] [--only FILE…] [--report-only]

mutmut rewrites source files in place, so this never touches the work tree: it copies the tracked files (as they
are on disk) to ``--workdir`` (default ``/tmp/carriersim-mutation``), points the ``carriersim`` import name at the
copy (links for its three layers and ``PYTHONPATH``, ahead of an editable install), checks that the copy conforms, then runs

    mutmut run --paths-to-mutate simulator/rules/,simulator/engine.py \
               --runner "python -m carriersim conformance --suite core --quiet"

A mutant is *killed* when the suite fails on it (a timeout counts as killed: the suite did not pass). Survivors
are matched against ``conformance/equivalent_mutants.yaml`` (file, original line, mutated line, one line of why).
Entries whose why starts ``OUTSIDE:`` behave differently in something no catalogue rule fixes (a message's
wording, an HTTP status, snapshots, a gap of the Target protocol); the others are equivalent (the same behaviour,
or unreachable with the shipped profiles and the Target protocol). ``score`` = killed / (tested − equivalent), the
bar (≥ 0.95); ``score_rules`` = killed / (tested − every listed survivor). The run can be stopped by ``--budget`` and
resumed (mutmut's cache lives in the work dir; a second run with the same work dir goes on where it stopped).
Results are also written to ``bench/mutation-results.json`` (``--results``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("simulator/rules/", "simulator/engine.py")
EQUIVALENT = ROOT / "conformance" / "equivalent_mutants.yaml"
BAR = 0.95
KILLED, SURVIVED, TIMEOUT, SUSPICIOUS, UNTESTED, SKIPPED = (
    "ok_killed", "bad_survived", "bad_timeout", "ok_suspicious", "untested", "skipped")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.splitlines() if f and (ROOT / f).is_file()]


def prepare(workdir: Path, fresh: bool) -> None:
    """Copy the tree (keeping mutmut's cache unless ``fresh``) and build the import shim."""
    cache = workdir / ".mutmut-cache"
    kept = cache.read_bytes() if cache.exists() and not fresh else None
    if workdir.exists():
        shutil.rmtree(workdir)
    for rel in tracked_files():
        dest = workdir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    for layer in ("simulator", "scenarios", "conformance"):  # the layout as installed: carriersim.simulator …
        (workdir / "carriersim" / layer).symlink_to(workdir / layer, target_is_directory=True)
    if kept is not None:
        cache.write_bytes(kept)


def environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CARRIERSIM_TARGET_URL", "CARRIERSIM_ADMIN_TOKEN")}
    env["PYTHONPATH"] = str(workdir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant's .pyc must never be reused for another mutant
    return env


def runner() -> str:
    return f"{sys.executable} -m carriersim conformance --suite core --quiet"


def check_baseline(workdir: Path) -> None:
    env = environment(workdir)
    where = subprocess.run([sys.executable, "-c", "import carriersim.simulator.engine as e; print(e.__file__)"],
                           cwd=workdir, env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"the copy is not the code imported ({where}); mutants would not be tested")
    done = subprocess.run(runner().split(), cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("the unmutated copy does not conform to the core suite:\n" + done.stdout[-2000:])


def run_mutmut(workdir: Path, budget: float, only: list[str]) -> bool:
    """True when mutmut finished within the budget."""
    cmd = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", ",".join(only or PATHS),
           "--runner", runner(), "--tests-dir", "conformance/suites:scenarios/library", "--no-progress",
           "--simple-output",
           "--test-time-base", "15"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=environment(workdir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=budget)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 15)
        proc.wait()
        return False
    finally:
        restore_sources(workdir)


def restore_sources(workdir: Path) -> None:
    """Undo a mutation left in place by an interrupted run (mutmut keeps the original as ``*.bak``)."""
    for bak in workdir.rglob("*.py.bak"):
        bak.replace(bak.with_suffix(""))


def mutants(workdir: Path) -> list[dict]:
    """Every mutant of mutmut's cache: id, file, line number, original line, status."""
    db = workdir / ".mutmut-cache"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT m.id, s.filename, l.line_number, l.line, m.\"index\", m.status FROM Mutant m "
                           "JOIN Line l ON m.line = l.id JOIN SourceFile s ON l.sourcefile = s.id "
                           "ORDER BY m.id").fetchall()
    return [{"id": r[0], "file": r[1], "line_number": r[2] + 1, "line": r[3].strip(), "index": r[4],
             "status": r[5]} for r in rows]


def mutated_line(workdir: Path, mutant_id: int) -> str:
    """The line as the mutant has it (from ``mutmut show``'s diff)."""
    diff = subprocess.run([sys.executable, "-m", "mutmut", "show", str(mutant_id)], cwd=workdir,
                          env=environment(workdir), capture_output=True, text=True).stdout
    added = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return added[0] if added else "(line removed)"


MESSAGE_WHY = ("OUTSIDE: message text: the suite judges refusal codes and states; a sentence's wording is read only "
               "by scenarios that quote it")
OUTSIDE = "OUTSIDE:"  # a listed survivor that behaves differently, in something no catalogue rule fixes


def is_message(original: str, mutated: str) -> bool:
    """A mutant that only wraps a human-readable string (one with a space: a message, not a code) in XX."""
    if mutated.replace("XX", "") != original.replace("XX", "") or mutated == original:
        return False
    at = next(i for i, (a, b) in enumerate(zip(original + "\0", mutated)) if a != b)
    quote_start = max(original.rfind('"', 0, at), original.rfind("'", 0, at))
    quote_end = min((i for i in (original.find('"', at), original.find("'", at)) if i >= 0), default=len(original))
    literal = original[quote_start + 1:quote_end]
    return " " in literal.strip() or literal.endswith((" ", ".", ":", ";"))


def _head(text: str) -> str:
    """The file's comment block: everything before the ``equivalent:`` key at the start of a line."""
    at = ("\n" + text).find("\nequivalent:")
    return text[:at] if at >= 0 else text


def write_equivalent(messages: list[dict]) -> None:
    """List message-only survivors in the equivalent file (each with the standard reason), keeping the rest."""
    data = yaml.safe_load(EQUIVALENT.read_text(encoding="utf-8")) if EQUIVALENT.exists() else {}
    entries = list((data or {}).get("equivalent", []))
    known = {(e["file"], e["line"], e["mutant"]) for e in entries}
    for m in messages:
        if (m["file"], m["line"], m["mutant"]) not in known:
            entries.append({"file": m["file"], "line": m["line"], "mutant": m["mutant"], "why": MESSAGE_WHY})
            known.add((m["file"], m["line"], m["mutant"]))
    head = _head(EQUIVALENT.read_text(encoding="utf-8")) if EQUIVALENT.exists() else ""
    EQUIVALENT.write_text(head + yaml.safe_dump({"equivalent": entries}, allow_unicode=True, width=200,
                                                sort_keys=False), encoding="utf-8")


def load_equivalent() -> list[dict]:
    if not EQUIVALENT.exists():
        return []
    data = yaml.safe_load(EQUIVALENT.read_text(encoding="utf-8")) or {}
    return list(data.get("equivalent", []))


def report(workdir: Path, complete: bool, seconds: float) -> dict:
    found = mutants(workdir)
    equivalent = load_equivalent()
    listed = {(e["file"], e["line"].strip(), e["mutant"].strip()) for e in equivalent}
    outside = {(e["file"], e["line"].strip(), e["mutant"].strip()) for e in equivalent
               if str(e.get("why", "")).startswith(OUTSIDE)}
    survivors, explained = [], []
    for m in found:
        if m["status"] == SURVIVED:
            m["mutant"] = mutated_line(workdir, m["id"])
            m["message"] = is_message(m["line"], m["mutant"])
            key = (m["file"], m["line"], m["mutant"])
            (explained if key in listed else survivors).append(m)
    count = {s: sum(1 for m in found if m["status"] == s) for s in (KILLED, SURVIVED, TIMEOUT, SUSPICIOUS,
                                                                     UNTESTED, SKIPPED)}
    killed = count[KILLED] + count[TIMEOUT] + count[SUSPICIOUS]
    tested = killed + count[SURVIVED]
    listed_outside = sum(1 for m in explained if (m["file"], m["line"], m["mutant"]) in outside)
    truly_equivalent = len(explained) - listed_outside
    denominator = tested - truly_equivalent
    score = round(killed / denominator, 4) if denominator else None
    in_scope = tested - len(explained)
    score_rules = round(killed / in_scope, 4) if in_scope else None
    return {"tool": "mutmut 2", "paths": list(PATHS), "test_command": "carriersim conformance --suite core",
            "mutants": len(found), "tested": tested, "untested": count[UNTESTED], "killed": count[KILLED],
            "timeout": count[TIMEOUT], "suspicious": count[SUSPICIOUS], "survived": count[SURVIVED],
            "equivalent": truly_equivalent, "outside": listed_outside, "unexplained": len(survivors),
            "score": score, "score_rules": score_rules, "bar": BAR,
            "bar_met": bool(score is not None and score >= BAR and complete and not count[UNTESTED]),
            "complete": complete and not count[UNTESTED], "seconds": round(seconds, 1),
            "unexplained_messages": sum(1 for m in survivors if m["message"]),
            "score_counting_messages": round(killed / tested, 4) if tested else None,
            "survivors": [{k: m[k] for k in ("file", "line_number", "line", "mutant", "message")}
                          for m in survivors]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/carriersim-mutation"))
    ap.add_argument("--budget", type=float, default=4 * 3600, help="stop mutmut after this many seconds")
    ap.add_argument("--fresh", action="store_true", help="forget mutmut's cache and start over")
    ap.add_argument("--only", nargs="*", default=[], help="mutate only these paths (default: rules and engine)")
    ap.add_argument("--report-only", action="store_true", help="only report what the cache holds")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "mutation-results.json")
    ap.add_argument("--list-messages", action="store_true",
                    help="add the surviving message-text mutants to conformance/equivalent_mutants.yaml")
    args = ap.parse_args()
    try:
        os.nice(10)
    except OSError:
        pass
    started = time.perf_counter()
    complete = True
    if not args.report_only:
        prepare(args.workdir, args.fresh)
        check_baseline(args.workdir)
        complete = run_mutmut(args.workdir, args.budget, args.only)
    result = report(args.workdir, complete, time.perf_counter() - started)
    if args.list_messages:
        write_equivalent([m for m in result["survivors"] if m["message"]])
        result = report(args.workdir, complete, time.perf_counter() - started)
    args.results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for s in result["survivors"]:
        print(f"survived{' (message)' if s['message'] else ''}: {s['file']}:{s['line_number']}: {s['line']}  ->  "
              f"{s['mutant']}")
    print(json.dumps({k: v for k, v in result.items() if k != "survivors"}))


if __name__ == "__main__":
    main()
