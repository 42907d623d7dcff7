"""Running a suite's scenario × carrier list on a target: in this process, or across worker processes (``--jobs``),
each worker with its own target and so its own isolated worlds. A mutant, when given, is applied in the process
that runs the scenarios and only there."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import Any, Callable

from carriersim.scenarios.model import Scenario
from carriersim.scenarios.runner import Outcome, run
from carriersim.scenarios.target import Target
from carriersim.simulator.profile import builtin_profiles

from . import targets
from .mutants import Mutant, all_mutants

Runs = list[tuple[Scenario, str]]
_WORKER: dict[str, object] = {}
ONE_WORLD = ("--jobs above 1 needs a target with a world per worker: inprocess, a plugin, or a server that makes "
             "worlds of their own (POST /_sim/worlds, as carriersim serve does); this server has one world, so its "
             "scenarios run one at a time. Leave --jobs out.")


def reference_profiles() -> dict[str, dict[str, Any]]:
    """The shipped carrier profiles: the rules a conformance run judges by, whatever the target reports."""
    return {p.id: p.raw for p in builtin_profiles()}


def mutant_named(name: str) -> Mutant:
    for m in all_mutants():
        if m.name == name:
            return m
    raise ValueError(f"No mutant {name!r}.")


def _open(target_spec: str, admin_token: str | None, mutant: str | None, stack: ExitStack) -> Target:
    if mutant is not None:
        stack.enter_context(mutant_named(mutant).applied())
    target = targets.resolve(target_spec, admin_token)
    stack.callback(target.close)
    return target


def _init_worker(target_spec: str, admin_token: str | None, mutant: str | None) -> None:
    from multiprocessing.util import Finalize

    stack = ExitStack()  # lives as long as the worker process
    _WORKER["stack"] = stack
    _WORKER["target"] = _open(target_spec, admin_token, mutant, stack)
    # closed when the worker exits (a server target deletes the world it made); a pool's worker ends through
    # multiprocessing's finalizers, not atexit
    Finalize(stack, stack.close, exitpriority=10)


def _run_in_worker(job: tuple[Scenario, str]) -> Outcome:
    scenario, carrier = job
    return run(scenario, carrier, _WORKER["target"], reference=reference_profiles())  # type: ignore[arg-type]


def execute(runs: Runs, target_spec: str, *, admin_token: str | None = None, jobs: int = 1,
            mutant: str | None = None, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Outcomes in the order of ``runs``, whatever order the workers finish in."""
    if jobs <= 1 or len(runs) < 2:
        with ExitStack() as stack:
            target = _open(target_spec, admin_token, mutant, stack)
            outcomes = []
            for scenario, carrier in runs:
                outcome = run(scenario, carrier, target, reference=reference_profiles())
                outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
            return outcomes
    if not targets.isolated_per_process(target_spec, admin_token):
        raise ValueError(ONE_WORLD)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no threads or patches inherited
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(target_spec, admin_token, mutant)) as pool:
        outcomes = []
        for outcome in pool.map(_run_in_worker, runs, chunksize=max(1, len(runs) // (jobs * 8))):
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        return outcomes
