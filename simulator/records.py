"""What the engine's reads return: typed, frozen records with the facts and nothing of any API's wire shape.

Money is integer fen, data is KB, instants are aware ``datetime`` objects in the simulation's zone, states are the
``State`` enum and reasons a ``Reasons`` set. Every API facade (the native REST API, a carrier dialect, the
in-process scenario target) renders the same records its own way — "5.00" CNY text and ISO strings are the native
API's choice (``simulator.http.native.views``), not the engine's. The records are built on read, so the engine's
internal layout can change without any caller noticing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from .events import Kind
from .model import REASON_NAMES, Cause, Reason, State

__all__ = ["Reasons", "PendingChange", "PoolUsage", "Usage", "Cancellation", "Card", "Event", "LedgerEntry",
           "Account", "Pool", "Carrier", "Review", "Certificate", "BatchRow", "BatchResult", "UsageResult",
           "UsageBatchResult", "AdvanceResult"]


class Reasons(frozenset):
    """LIFE-2/LIFE-3: the set of reasons a card is suspended for. Iterates in the catalogue's order (quota,
    arrears, expired, …) so output and comparisons are stable."""

    _cache: dict[int, "Reasons"] = {}

    @classmethod
    def of(cls, mask: int) -> "Reasons":
        """The reasons of a bit mask (cached: there are at most 1024 masks)."""
        found = cls._cache.get(mask)
        if found is None:
            found = cls._cache[mask] = cls(r for r in Reason if mask & r)
        return found

    def __iter__(self) -> Iterator[Reason]:
        return iter(sorted(frozenset.__iter__(self)))

    @property
    def mask(self) -> int:
        return sum(int(r) for r in frozenset.__iter__(self))

    def names(self) -> list[str]:
        return [REASON_NAMES[r] for r in self]

    def __repr__(self) -> str:
        return f"Reasons({', '.join(self.names()) or 'none'})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class PendingChange:
    """PLAN-1/PLAN-2: the plan a card moves to at the next cycle start."""

    plan: str
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class PoolUsage:
    id: str
    used_kb: int
    quota_kb: int


@dataclass(frozen=True, slots=True)
class Usage:
    """The current cycle's (or term's) counters, honouring the lazy reset: a past period's counters read zero."""

    cycle_kb: int
    quota_used_kb: int
    addon_kb: int
    quota_kb: int  # the plan's quota plus the add-ons of the period
    pool: PoolUsage | None = None
    test_used_kb: int | None = None  # only while the card is in testing (LIFE-1)


@dataclass(frozen=True, slots=True)
class Cancellation:
    """CAN-2..4: a review under way (``under_review``) or a cancellation done (``done``)."""

    status: str
    review: str | None = None  # "standard" | "manual", while under review
    due: datetime | None = None
    cause: str | None = None  # when done: requested, retention_expired, unused …
    at: datetime | None = None
    certificate: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    iccid: str
    imsi: str
    msisdn: str
    carrier: str
    account: str | None
    state: State
    reasons: Reasons
    plan: str | None
    pending_change: PendingChange | None
    term_start: datetime | None
    term_end: datetime | None
    prepaid_terms: int
    balance: int  # fen
    auto_suspend: bool
    auto_renew: bool
    imei: str | None
    device_changes: int
    verified: bool
    usage: Usage | None
    opened_at: datetime
    activated_at: datetime | None
    last_used_at: datetime | None
    expired_at: datetime | None
    retention_until: datetime | None
    real_name_deadline: datetime | None
    cancellation: Cancellation | None
    replaced_by: str | None
    replaces: str | None


@dataclass(frozen=True, slots=True)
class Event:
    """LIFE-4: one event. ``old_state``/``new_state``/``change`` are set for state changes, ``amount`` (fen) for
    money, ``detail`` holds the event's other facts."""

    seq: int
    time: datetime
    kind: Kind
    iccid: str | None
    cause: Cause
    old_state: State | None = None
    new_state: State | None = None
    reasons: Reasons | None = None
    change: str | None = None  # "added" | "removed" | "none"
    amount: int | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    seq: int
    time: datetime
    kind: Kind
    item: str | None
    amount: int  # fen
    balance: int  # fen, after this entry


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    kind: str
    channel: str
    verified: bool
    balance: int  # fen: the sum of its cards' prepaid balances
    cards: int


@dataclass(frozen=True, slots=True)
class Pool:
    id: str
    carrier: str
    name: str
    members: tuple[str, ...]
    used_kb: int
    quota_kb: int


@dataclass(frozen=True, slots=True)
class Carrier:
    id: str
    name: str
    timezone: str
    billing_cycle_day: int
    retention_months: int
    retention_fee: int
    arrears_auto_resume: bool
    real_name_grace_days: int
    restricted_regions: tuple[str, ...]
    maintenance_until: datetime | None


@dataclass(frozen=True, slots=True)
class Review:
    """CAN-2/CAN-3: a cancellation put under review, and when it is due."""

    iccid: str
    review: str
    due: datetime


@dataclass(frozen=True, slots=True)
class Certificate:
    """CAN-4: the cancellation certificate."""

    number: str
    iccid: str
    msisdn: str
    carrier: str
    account: str | None
    cancelled_at: datetime


@dataclass(frozen=True, slots=True)
class BatchRow:
    row: int
    iccid: str
    ok: bool
    code: str | None = None
    message: str | None = None
    review: str | None = None
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """BATCH-1: every row's own result."""

    operation: str
    rows: tuple[BatchRow, ...]

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> int:
        return len(self.rows) - self.succeeded


@dataclass(frozen=True, slots=True)
class UsageResult:
    """What the network carried of a usage report, and why the rest was refused."""

    iccid: str
    accepted_kb: int
    refused_kb: int
    refused_because: str | None  # "not_in_service" | "region" | "device" | "suspended" | "quota" | "test_quota"
    state: State
    reasons: Reasons


@dataclass(frozen=True, slots=True)
class UsageBatchResult:
    """What the network carried of a batch of usage reports (``report_usage_many``): totals, and how many reports
    had part of their traffic refused for each reason."""

    reports: int
    accepted_kb: int
    refused_kb: int
    refused: dict[str, int]  # refused_because → number of reports


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    start: datetime
    to: datetime
    jobs: int
    events: int


def reasons_of(names: Iterable[str]) -> Reasons:
    by_name = {v: k for k, v in REASON_NAMES.items()}
    return Reasons(by_name[n] for n in names)
