"""LIFE-2 ``carrier`` (运营商管控): a carrier stops a card on its own authority — a fraud or compliance hold — and
only the carrier releases it. A world action (test control), not a platform request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..model import Card, Cause, Reason, State
from .billing import require_not_cancelled

if TYPE_CHECKING:
    from ..engine import Engine


def bar(engine: "Engine", card: Card, note: str) -> None:
    require_not_cancelled(card)
    if card.phase == State.INVENTORY:
        raise SimError("invalid_state", f"Card {card.iccid} was never sold.")
    if card.reasons & Reason.CARRIER:
        raise SimError("already_barred", f"Card {card.iccid} is already under a carrier hold.")
    engine.change(card, Cause.WORLD, add=Reason.CARRIER, detail={"note": note} if note else None)


def release(engine: "Engine", card: Card) -> None:
    if not card.reasons & Reason.CARRIER:
        raise SimError("not_barred", f"Card {card.iccid} is not under a carrier hold.")
    engine.change(card, Cause.WORLD, remove=Reason.CARRIER)
