"""The scheduler behind the virtual clock: due jobs in a heap keyed by time.

Jobs of one kind falling due at one instant share a single heap entry (a *bucket* of targets), so that the cycle
start of every cmcc card is one job and a million cards whose real-name grace ends the same second are one heap
entry, not a million. Jobs are never removed when they become moot (a card renewed before its deadline); the
handler re-checks the card when the job fires, which keeps scheduling O(log n) and cancelling free.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class JobKind(IntEnum):
    """Job kinds; the value is the order of jobs due at the same instant (lower first)."""

    MAINTENANCE_END = 0  # MAINT-1: a window closes before the cycle's work runs
    # Cards whose life ends at a cycle start end it before the cycle start, so they are not charged for a cycle
    # they never get: RET-2 (no 4th retention fee), CAN-2/CAN-3 (no renewal or fee), CAN-5 (no renewal).
    RETENTION_LIMIT = 1
    REVIEW_DONE = 2
    UNUSED_CHECK = 3
    CYCLE_START = 4  # BILL-2: one job per carrier
    KYC_DEADLINE = 5  # KYC-1


@dataclass(frozen=True, slots=True)
class Due:
    when: int
    kind: JobKind
    targets: list[Any]


class Scheduler:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, tuple[int, JobKind]]] = []
        self._buckets: dict[tuple[int, JobKind], list[Any]] = {}
        self._seq = 0

    def at(self, when: int, kind: JobKind, target: Any) -> None:
        key = (when, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = []
            heapq.heappush(self._heap, (when, int(kind), self._seq, key))
            self._seq += 1
        bucket.append(target)

    def at_many(self, when: int, kind: JobKind, targets: list[Any]) -> None:
        """``at`` for a cohort: every target due at the same instant, in the order given."""
        if targets:
            self.at(when, kind, targets[0])
            self._buckets[(when, kind)].extend(targets[1:])

    def pop_due(self, until: int) -> Due | None:
        """The earliest job due at or before ``until``, removed from the schedule; None when nothing is due."""
        if not self._heap or self._heap[0][0] > until:
            return None
        when, _, _, key = heapq.heappop(self._heap)
        return Due(when, key[1], self._buckets.pop(key))

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def pending(self) -> list[tuple[int, str, int]]:
        """(time, kind, number of targets) of every scheduled job, in firing order — for dumps and debugging."""
        return [(w, key[1].name.lower(), len(self._buckets[key])) for w, _, _, key in sorted(self._heap)]
