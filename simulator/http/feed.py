"""An account's slice of the event log: the events feed and the webhooks read it the same way."""

from __future__ import annotations

from typing import Any

from ..simulation import Simulation
from ..views import event_view


def account_events(sim: Simulation, account_id: str, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events of ``account_id``'s cards and pools from ``cursor`` on, at most ``limit``; and the next cursor."""
    log = sim.events
    cards, pools = sim.cards, sim.pools
    out: list[dict[str, Any]] = []
    seq, end = max(cursor, 0), len(log)
    while seq < end and len(out) < limit:
        idx = log.card[seq]
        if idx >= 0:
            mine = cards[idx].account_id == account_id
        else:
            pool = pools.get((log.detail.get(seq) or {}).get("pool", ""))
            mine = pool is not None and pool.account_id == account_id
        if mine:
            out.append(event_view(sim, log.get(seq)))
        seq += 1
    return out, seq
