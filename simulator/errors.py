"""The one error type every refused operation raises.

A platform under test must be able to tell refusals apart by a stable machine code (``insufficient_balance``,
``plan_change_not_allowed``…) while a person reading a log gets a sentence. Every refusal is raised *before* the
engine mutates anything, so a refused operation changes nothing.
"""

from __future__ import annotations

from typing import Any


class SimError(Exception):
    """A refused operation: ``code`` is stable, ``message`` is for people, ``detail`` carries facts (ids, amounts).

    ``status`` is the HTTP status an API facade should answer with; the engine only picks the family
    (404 for things that do not exist *for this caller*, 409 for a state that forbids the operation,
    422 for bad input, 503 for a carrier in maintenance).
    """

    def __init__(self, code: str, message: str, *, status: int = 409, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.detail}

    def __repr__(self) -> str:
        return f"SimError({self.code!r}, {self.message!r})"


def not_found(kind: str, ident: str) -> SimError:
    """A thing that does not exist, or exists but belongs to someone else (PLAN-3: both answer the same)."""
    return SimError(f"{kind}_not_found", f"No {kind.replace('_', ' ')} {ident!r} was found.", status=404)


def bad_input(message: str, **detail: Any) -> SimError:
    return SimError("invalid_input", message, status=422, **detail)


class ProfileError(ValueError):
    """A carrier profile that cannot be used: names the file, the field and what was expected."""

    def __init__(self, source: str, field: str, problem: str,
                 problems: list[tuple[str, str]] | None = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        #: every (field, problem) of the file, the first one included: a profile is reported whole
        self.problems = problems or [(field, problem)]
        more = len(self.problems) - 1
        super().__init__(f"{source}: {field}: {problem}" + (f" (and {more} more problem{'s' * (more > 1)})"
                                                              if more else ""))
