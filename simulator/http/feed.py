"""An account's slice of the event log, in the native shape: the events feed and the webhooks read it the same
way."""

from __future__ import annotations

from typing import Any

from ..simulation import Simulation
from . import views


def account_events(sim: Simulation, account_id: str, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events of ``account_id``'s cards and pools from ``cursor`` on, at most ``limit``; and the next cursor."""
    events, cursor = sim.events_since(cursor, limit, account_id)
    return [views.event(e) for e in events], cursor
