"""``carriersim run PATH…``: parse every scenario file first (nothing runs while one is broken), then run each
scenario × carrier on the target, with progress, a failure report and a summary table; exit 0 only when nothing
failed."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .junit import write_junit
from .model import Scenario
from .parser import known_carriers, load_paths
from .runner import ERROR, FAILED, NOT_APPLICABLE, PASSED, Outcome, run
from .selection import matches_keyword
from .source import ScenarioError
from .suggest import nearest
from .target import Refused, Target, TargetError
from .targets import open_target

STYLE = {PASSED: "green", FAILED: "red", ERROR: "magenta", NOT_APPLICABLE: "yellow"}


def add_run_command(sub: Any) -> None:
    p = sub.add_parser("run", help="run scenario files against a target (the simulator in-process by default)",
                       description="Run scenario files: every scenario on every carrier it names.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders (*.yaml, recursively)")
    add_target_options(p)
    p.add_argument("--carrier", action="append", default=[], metavar="C",
                   help="run only on this carrier (may repeat; default: every carrier a scenario names)")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report here")
    p.add_argument("-k", dest="keyword", metavar="EXPR",
                   help="only scenarios whose name, file or rule ids match (pytest-style: 'quota and not pool')")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def add_check_command(sub: Any) -> None:
    p = sub.add_parser("check", help="check scenario files without running them (for editors and pre-commit)",
                       description="Check scenario files as `run` does before anything runs — YAML, the schema, "
                                   "steps, names, plans and add-ons, ${profile…} paths, card fields, times — and "
                                   "print each problem with its line of source. Exit 0 when every file is fine, "
                                   "1 when one is not, 2 for a path that does not exist.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders (*.yaml, recursively)")
    p.add_argument("--quiet", action="store_true", help="print only the problems")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    out, err = Console(), Console(stderr=True)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        err.print(f"carriersim: error: no such file or folder: {', '.join(missing)}", markup=False, highlight=False)
        return 2
    try:
        scenarios = load_paths(args.paths)
    except ScenarioError as exc:
        for problem in exc.problems:
            out.print(problem.render(), markup=False, highlight=False, soft_wrap=True)
        files = len({p.where.file for p in exc.problems})
        err.print(f"[red]{len(exc.problems)} problem(s) in {files} file(s).[/]", highlight=False)
        return 1
    if not args.quiet:
        files = len({sc.file for sc in scenarios})
        out.print(f"{len(scenarios)} scenario(s) in {files} file(s): no problems.", highlight=False)
    return 0


def add_target_options(p: argparse.ArgumentParser, *, plugins: bool = False) -> None:
    also = (", or plugin:NAME — an adapter registered under the 'carriersim.targets' entry point group "
            "(e.g. plugin:tinycmp; see conformance/examples/tinycmp)") if plugins else ""
    p.add_argument("--target", default=os.environ.get("CARRIERSIM_TARGET_URL", "inprocess"),
                   help="inprocess (default), a server's URL, e.g. http://127.0.0.1:8080, or one of its "
                        "carrier dialects (twilio+http://…, jasper+http://…)"
                        f"{also} (default: $CARRIERSIM_TARGET_URL)")
    p.add_argument("--admin-token", default=os.environ.get("CARRIERSIM_ADMIN_TOKEN"),
                   help="the server's /_sim admin token (default: $CARRIERSIM_ADMIN_TOKEN)")


def plan_runs(scenarios: Iterable[Scenario], carriers: list[str], keyword: str | None) -> list[tuple[Scenario, str]]:
    runs = []
    for sc in scenarios:
        if keyword and not matches_keyword(keyword, sc):
            continue
        for carrier in sc.carriers:
            if not carriers or carrier in carriers:
                runs.append((sc, carrier))
    return runs


def run_all(runs: list[tuple[Scenario, str]], target: Target, *, console: Console | None = None,
            quiet: bool = False, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every (scenario, carrier) in order, with a progress bar on a terminal."""
    outcomes: list[Outcome] = []
    console = console or Console(stderr=True)
    show = not quiet and console.is_terminal and len(runs) > 1
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not show, transient=True) as progress:
        task = progress.add_task("scenarios", total=len(runs))
        for sc, carrier in runs:
            progress.update(task, description=f"{sc.name[:40]} [{carrier}]")
            outcome = run(sc, carrier, target)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            progress.advance(task)
    return outcomes


def probe(target: Target) -> str | None:
    """Why the target cannot be used at all (unreachable, credentials refused), or None: checked once, before
    anything runs, rather than reported as an error by every scenario."""
    try:
        target.now()
        target.carriers()
    except (TargetError, Refused) as exc:
        return f"the target {target.name} cannot be used: {exc}"
    return None


def summary_table(outcomes: list[Outcome]) -> Table:
    table = Table(title="scenarios", show_lines=False)
    table.add_column("scenario")
    carriers = sorted({o.carrier for o in outcomes})
    for c in carriers:
        table.add_column(c, justify="center")
    rows: dict[str, dict[str, Outcome]] = {}
    for o in outcomes:
        rows.setdefault(o.scenario.id, {})[o.carrier] = o
    for sid, by_carrier in rows.items():
        cells = []
        for c in carriers:
            o = by_carrier.get(c)
            cells.append("" if o is None else f"[{STYLE[o.status]}]{o.status.replace('_', ' ')}[/]")
        table.add_row(escape(sid), *cells)
    return table


def totals(outcomes: list[Outcome]) -> str:
    count = {s: sum(1 for o in outcomes if o.status == s) for s in (PASSED, FAILED, ERROR, NOT_APPLICABLE)}
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in count.items() if n or s == PASSED)


def report_problem(console: Console, outcome: Outcome) -> None:
    color = STYLE[outcome.status]
    console.print(f"[bold {color}]{outcome.status.upper()}[/] {escape(outcome.id)} ({escape(outcome.scenario.file)})",
                  highlight=False)
    if outcome.failure:
        console.print(outcome.failure.render(), markup=False, highlight=False, soft_wrap=True)
    elif outcome.reason:
        console.print(f"  {outcome.reason}", markup=False, highlight=False)


def cmd_run(args: argparse.Namespace) -> int:
    out = Console()
    err = Console(stderr=True)
    try:
        scenarios = load_paths(args.paths)
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(problem.render(), markup=False, highlight=False, soft_wrap=True)
        err.print(f"[red]{len(exc.problems)} problem(s) in the scenario files; nothing was run.[/]")
        return 2
    known = known_carriers()
    for carrier in args.carrier:
        if carrier not in known:
            err.print(f"carriersim: error: unknown carrier {carrier!r}{nearest(carrier, known)}; known carriers: "
                      f"{', '.join(known)}.", markup=False, highlight=False)
            return 2
    if args.junit and Path(args.junit).is_dir():
        err.print(f"carriersim: error: --junit {args.junit} is a folder; give a file name.", markup=False)
        return 2
    try:
        runs = plan_runs(scenarios, args.carrier, args.keyword)
    except ValueError as exc:  # a -k expression that does not parse
        err.print(f"carriersim: error: {exc}", markup=False, highlight=False)
        return 2
    if not runs:
        err.print("No scenario matches (check -k and --carrier).")
        return 1
    try:
        target = open_target(args.target, admin_token=args.admin_token)
    except ValueError as exc:
        err.print(f"carriersim: error: {exc}")
        return 2
    problem = probe(target)
    if problem:
        err.print(f"carriersim: error: {problem}", markup=False, highlight=False)
        target.close()
        return 2
    started = time.perf_counter()
    try:
        outcomes = run_all(runs, target, console=err, quiet=args.quiet,
                           on_outcome=lambda o: report_problem(out, o) if o.status in (FAILED, ERROR) else None)
    finally:
        target.close()
    out.print(summary_table(outcomes))
    colour = "red" if any(o.status in (FAILED, ERROR) for o in outcomes) else "green"
    out.print(f"[bold {colour}]{len(outcomes)} runs on {escape(target.name)} in {time.perf_counter() - started:.2f} s: "
              f"{totals(outcomes)}[/]", highlight=False)
    if args.junit:
        write_junit(outcomes, args.junit, suite_name="carriersim scenarios")
        out.print(f"JUnit report: {args.junit}")
    return 1 if any(o.status in (FAILED, ERROR) for o in outcomes) else 0
