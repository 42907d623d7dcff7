"""The ``carriersim`` console script: the simulator's commands plus ``run`` (scenarios), ``conformance`` and the
``demo`` main job.

It lives in the top layer because it is the one place that brings all three together; ``simulator.cli`` alone
knows nothing of scenarios or suites.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carriersim.scenarios.cli import add_check_command, add_run_command, add_target_options, probe, report_problem
from carriersim.scenarios.export import add_record_command
from carriersim.scenarios.runner import ERROR, FAILED
from carriersim.scenarios.suggest import nearest
from carriersim.scenarios.source import ScenarioError
from carriersim.simulator.cli import cmd_demo as fleet_demo
from carriersim.simulator.cli import main as simulator_main

from . import targets
from .execution import ONE_WORLD, execute
from .expectations import XPASS, ExpectationsError, load_expectations
from .mutants import all_mutants
from .reports import verdict, write_reports
from .results import SYMBOL, RunResult
from .suite import load_suite, suite_names

STYLE = {"passed": "green", "failed": "bold red", "error": "bold magenta", "xfail": "dim", "xpass": "bold yellow",
         "not_applicable": "dim", "missing": "bold red"}


def add_conformance_command(sub: Any) -> None:
    p = sub.add_parser("conformance", help="judge an implementation against a versioned suite of scenarios",
                       description="Run a conformance suite against a target and write reports. Exit 0 when no "
                                   "MUST requirement fails (each passes, is an expected failure or is not applicable), "
                                   "with --strict also no SHOULD requirement; 1 when one does; 2 for a usage error.")
    add_target_options(p, plugins=True)
    p.add_argument("--suite", default="core", choices=suite_names(),
                   help="core: the MUST rules (default); extended: the MUST and the SHOULD rules")
    p.add_argument("--strict", action="store_true",
                   help="a failing SHOULD requirement fails the run too (exit 1); without it the headline says "
                        "'conforms to MUST; N SHOULD failed' and the exit code is 0")
    p.add_argument("--carrier", action="append", default=[], metavar="C",
                   help="judge only this carrier (may repeat; default: all)")
    p.add_argument("--report-dir", metavar="DIR", help="write JSON, JUnit XML, Markdown and HTML reports here")
    p.add_argument("--expectations", metavar="FILE", help="known failures of this target (YAML)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run scenarios in N worker processes, each with its own worlds (default 1); against a "
                        "server, each scenario runs in a world of its own (POST /_sim/worlds)")
    p.add_argument("--mutants", action="store_true",
                   help="instead: run the suite against every deliberately broken simulator and show which "
                        "requirements caught each (exit 0 when all are caught)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_conformance)
    demo = sub.choices["demo"]
    demo.description = "Build a fleet and run it through simulated months, then run the core conformance suite " \
                       "against the in-process simulator and print its matrix."
    demo.set_defaults(func=cmd_demo)


def main(argv: list[str] | None = None) -> int:
    return simulator_main(argv, extensions=(add_run_command, add_check_command, add_conformance_command,
                                            add_record_command))


# ---------------------------------------------------------------------------------------------- conformance

def run_suite(suite_name: str, target: str, *, admin_token: str | None = None, carriers: list[str] | None = None,
              jobs: int = 1, expectations: str | None = None, mutant: str | None = None,
              quiet: bool = True, strict: bool = False) -> RunResult:
    """Run a suite on a target and judge it (the library behind ``carriersim conformance`` and the tests)."""
    suite = load_suite(suite_name)
    known = load_expectations(expectations)
    checked = targets.resolve(target, admin_token)
    problem = probe(checked)
    checked.close()
    if problem:
        raise ValueError(problem)
    if jobs > 1 and not targets.isolated_per_process(target, admin_token):
        raise ValueError(ONE_WORLD)
    all_carriers = list(dict.fromkeys(c for req in suite.requirements for c in req.rule.carriers))
    unknown = [c for c in carriers or [] if c not in all_carriers]
    if unknown:
        raise ValueError(f"unknown carrier {unknown[0]!r}{nearest(unknown[0], all_carriers)}; the suite judges "
                         f"{', '.join(all_carriers)}.")
    chosen = [c for c in all_carriers if not carriers or c in carriers]
    runs = suite.runs(chosen)
    started = time.perf_counter()
    console = Console(stderr=True)
    show = not quiet and console.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not show, transient=True) as progress:
        task = progress.add_task(f"suite {suite.title}", total=len(runs))
        outcomes = execute(runs, target, admin_token=admin_token, jobs=jobs, mutant=mutant,
                           on_outcome=lambda _: progress.advance(task))
    outcomes = [known.apply(o) for o in outcomes]
    name = target if not mutant else f"{target} (mutant {mutant})"
    return RunResult(suite, name, chosen, outcomes, time.perf_counter() - started, strict=strict)


def matrix_table(result: RunResult) -> Table:
    table = Table(title=f"carriersim conformance — suite {result.suite.title} — target {escape(result.target)}")
    table.add_column("rule")
    table.add_column("level")
    table.add_column("title", max_width=38, overflow="ellipsis", no_wrap=True)
    for c in result.carriers:
        table.add_column(c, justify="center")
    for req in result.suite.requirements:
        row = result.matrix[req.id]
        cells = [f"[{STYLE[row[c].status]}]{SYMBOL[row[c].status]}[/]" if c in row else "" for c in result.carriers]
        table.add_row(req.id, req.level, escape(req.rule.title), *cells)
    return table


def print_result(out: Console, result: RunResult) -> None:
    for o in result.outcomes:
        if o.status in (FAILED, ERROR, XPASS):
            report_problem(out, o) if o.status != XPASS else out.print(
                f"[bold yellow]XPASS[/] {escape(o.id)}: {escape(o.reason)}", highlight=False)
    out.print(matrix_table(result))
    out.print(f"[bold {headline_colour(result)}]{escape(verdict(result))}[/] in {result.seconds:.1f} s",
              highlight=False)


def headline_colour(result: RunResult) -> str:
    """green: passes with nothing failed; yellow: conforms to MUST with SHOULD failures; red: does not pass."""
    if not result.passes:
        return "red"
    return "yellow" if result.failed("SHOULD") else "green"


def cmd_conformance(args: argparse.Namespace) -> int:
    out, err = Console(), Console(stderr=True)
    if args.jobs < 1:
        err.print("carriersim: error: --jobs must be at least 1")
        return 2
    if args.mutants:
        return cmd_mutants(args, out, err)
    if args.report_dir and Path(args.report_dir).exists() and not Path(args.report_dir).is_dir():
        err.print(f"carriersim: error: --report-dir {escape(args.report_dir)} is a file; give a folder (it is "
                  "created if missing).", highlight=False)
        return 2
    try:
        result = run_suite(args.suite, args.target, admin_token=args.admin_token, carriers=args.carrier,
                           jobs=args.jobs, expectations=args.expectations, quiet=args.quiet, strict=args.strict)
    except (ScenarioError, ExpectationsError, ValueError) as exc:
        err.print(f"carriersim: error: {escape(str(exc))}", highlight=False)
        return 2
    print_result(out, result)
    if args.report_dir:
        paths = write_reports(result, args.report_dir)
        out.print("reports: " + ", ".join(str(p) for p in paths.values()), highlight=False)
    return 0 if result.passes else 1


def _judge_mutant(job: tuple[str, str]) -> tuple[str, list[str]]:
    suite, mutant = job
    result = run_suite(suite, "inprocess", mutant=mutant)
    return mutant, sorted({f"{req.id}[{c}]" for req, c in result.failing})


def cmd_mutants(args: argparse.Namespace, out: Console, err: Console) -> int:
    mutants = all_mutants()
    baseline = run_suite(args.suite, "inprocess")
    if not baseline.conforms:
        err.print("[red]The unbroken simulator does not pass the suite; mutant results would mean nothing.[/]")
        print_result(out, baseline)
        return 1
    started = time.perf_counter()
    jobs = [(args.suite, m.name) for m in mutants]
    if args.jobs > 1:
        import multiprocessing
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            caught = dict(pool.map(_judge_mutant, jobs))
    else:
        caught = dict(_judge_mutant(j) for j in jobs)
    table = Table(title=f"mutants against suite {baseline.suite.title}")
    for col in ("mutant", "breaks", "how", "caught by"):
        table.add_column(col, overflow="fold")
    for m in mutants:
        by = caught[m.name]
        shown = ", ".join(by[:4]) + (f" (+{len(by) - 4})" if len(by) > 4 else "")
        table.add_row(m.name, m.rule, escape(m.description), f"[green]{escape(shown)}[/]" if by else "[bold red]NOT CAUGHT[/]")
    out.print(table)
    missed = [m.name for m in mutants if not caught[m.name]]
    out.print(f"{len(mutants) - len(missed)} of {len(mutants)} mutants caught in {time.perf_counter() - started:.1f} s"
              + (f"; not caught: {', '.join(missed)}" if missed else ""), highlight=False)
    return 1 if missed else 0


# ---------------------------------------------------------------------------------------------- demo

def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: a fleet through simulated months, then the core suite against the simulator."""
    code = fleet_demo(args)
    if code:
        return code
    out = Console()
    out.print("\n[bold]Core conformance suite against the in-process simulator[/]")
    result = run_suite("core", "inprocess", jobs=1, quiet=args.quiet)
    print_result(out, result)
    return 0 if result.conforms else 1


if __name__ == "__main__":
    sys.exit(main())
