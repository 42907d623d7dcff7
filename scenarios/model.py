"""Parsed scenarios: what the parser hands the runner. Plain data with the file position of every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .source import Where

DEFAULT_START = "2027-01-01T00:00:00"
DEFAULT_ACCOUNT = "acme"
ALL_CARRIERS = ("cmcc", "cucc", "ctcc")


@dataclass(frozen=True)
class AccountSpec:
    id: str
    name: str
    kind: str = "enterprise"
    verified: bool = True


@dataclass(frozen=True)
class CardSpec:
    id: str
    account: str
    plan: str = "monthly"
    payment: Any = None
    auto_suspend: Any = True
    auto_renew: Any = True
    testing: Any = False
    activate: Any = None  # None: activate unless the card is opened for testing
    imei: str | None = None  # None: a device of its own, named after the card
    verified: Any = True
    balance: Any = None
    pool: str | None = None
    where: Where | None = None


@dataclass(frozen=True)
class PoolSpec:
    id: str
    account: str
    carrier: str | None = None  # None: the scenario's carrier


@dataclass(frozen=True)
class Given:
    start: str = DEFAULT_START
    seed: int = 1
    accounts: tuple[AccountSpec, ...] = ()
    cards: tuple[CardSpec, ...] = ()
    pools: tuple[PoolSpec, ...] = ()
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, as a person counts
    kind: str
    args: dict[str, Any]
    modifiers: dict[str, Any]
    where: Where
    source: str  # the step as written (one line), for failure output


@dataclass(frozen=True)
class Mark:
    """A pytest mark set in the scenario file: ``skip``/``xfail`` with a reason, or any marker name."""

    name: str
    reason: str = ""
    strict: bool | None = None
    carriers: tuple[str, ...] = ()  # empty: every carrier


@dataclass
class Scenario:
    name: str
    rules: tuple[str, ...]
    carriers: tuple[str, ...]
    given: Given
    steps: tuple[Step, ...]
    file: str
    where: Where
    description: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    marks: tuple[Mark, ...] = ()

    @property
    def watches_events(self) -> bool:
        """Whether any expectation reads "the events since the last step" (the runner then keeps count)."""
        return any(s.kind == "expect" and ({"events", "no_events"} & set(s.args)) for s in self.steps)

    @property
    def id(self) -> str:
        return f"{PurePath(self.file).name}::{self.name}"
