"""MAINT-1 carrier maintenance (系统维护): during a window the carrier's API answers "unavailable" with when to
retry (every operation, and reads unless the profile lets them through), its cards may be stopped for
``maintenance``, and at the end they recover with no action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Due, JobKind
from ..errors import SimError
from ..model import Cause, Reason, State

if TYPE_CHECKING:
    from ..engine import CarrierState, Engine


def start(engine: "Engine", cs: "CarrierState", until: int, stop_cards: bool) -> None:
    if until <= engine.now:
        raise SimError("invalid_input", "A maintenance window must end in the future.", status=422)
    cs.maintenance_until = until
    engine.scheduler.at(until, JobKind.MAINTENANCE_END, cs.profile.id)
    if stop_cards:
        for card in cs.cards:
            if card.phase == State.ACTIVE and not card.reasons & Reason.MAINTENANCE:
                engine.change(card, Cause.WORLD, add=Reason.MAINTENANCE, detail={"until": engine.iso(until)})


def end(engine: "Engine", cs: "CarrierState") -> None:
    if cs.maintenance_until is None:
        raise SimError("no_maintenance", f"{cs.profile.id} has no maintenance window open.")
    cs.maintenance_until = None
    for card in cs.cards:
        if card.reasons & Reason.MAINTENANCE and card.phase != State.CANCELLED:
            engine.change(card, Cause.WORLD, remove=Reason.MAINTENANCE)


def on_end(engine: "Engine", due: Due) -> None:
    for carrier in due.targets:
        cs = engine.carriers[carrier]
        if cs.maintenance_until == due.when:
            end(engine, cs)


def gate(engine: "Engine", cs: "CarrierState", *, read: bool = False) -> None:
    """Refuse a platform request to a carrier in maintenance, saying when to retry. A read (a card, its history or
    ledger) is refused too unless the profile's ``maintenance.refuse_reads`` is false: a real carrier's platform in
    maintenance is down for queries as well, so that is the default."""
    if read and not cs.profile.maintenance_refuse_reads:
        return
    if cs.maintenance_until is not None and cs.maintenance_until > engine.now:
        retry = cs.maintenance_until - engine.now
        raise SimError("carrier_unavailable", f"{cs.profile.name} is in maintenance until "
                       f"{engine.iso(cs.maintenance_until)}; retry in {retry} seconds.", status=503,
                       retry_after=retry, until=engine.iso(cs.maintenance_until))
