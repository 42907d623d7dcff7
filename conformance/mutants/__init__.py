"""Mutants: deliberately broken variants of the simulator, each breaking one rule, to prove the suite catches faults.

A mutant is a module in this package defining ``MUTANT = Mutant(...)``: the rule it breaks, a sentence saying how,
and the patches that break it (``"carriersim.simulator.rules.plan_change.request"`` → a replacement). The patches are applied
only inside ``Mutant.applied()``, so the same process can run the suite against each mutant in turn, and the
simulator is never left broken.
"""

from __future__ import annotations

import importlib
import pkgutil
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Iterator
from unittest import mock


@dataclass(frozen=True)
class Mutant:
    name: str
    rule: str  # the rule id it breaks
    description: str
    patches: tuple[tuple[str, Any], ...]  # (dotted attribute, replacement)

    @contextmanager
    def applied(self) -> Iterator[None]:
        with ExitStack() as stack:
            for target, replacement in self.patches:
                stack.enter_context(mock.patch(target, replacement))
            yield


def forgetting(check: Callable[..., list[str]], reason: str) -> Callable[..., list[str]]:
    """``check`` (a function listing what forbids an operation) with one reason forgotten: the commonest way an
    implementation breaks a precondition rule. Wraps the original, so the mutant tracks the real check otherwise."""
    @wraps(check)
    def forgetful(*args: Any, **kwargs: Any) -> list[str]:
        return [why for why in check(*args, **kwargs) if why != reason]
    return forgetful


def all_mutants() -> list[Mutant]:
    """Every mutant of this package, in module-name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        mutant = getattr(module, "MUTANT", None)
        if isinstance(mutant, Mutant):
            found.append(mutant)
    return found
