"""BIND-1 device binding (机卡绑定): the card binds to the first device's IMEI; used in another device it is
suspended for ``device``, and only a re-binding request clears it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason
from .billing import require_not_cancelled

if TYPE_CHECKING:
    from ..engine import Engine


def check_usage_device(engine: "Engine", card: Card, imei: str) -> bool:
    """True when traffic from ``imei`` may flow. An unbound card binds to the first device seen."""
    if not card.bind_device:
        return True
    if card.imei is None:
        card.imei = imei
        engine.emit(card, Kind.DEVICE_BOUND, Cause.USAGE, detail={"imei": imei, "first": True})
        return True
    if card.imei == imei:
        return True
    if not card.reasons & Reason.DEVICE:
        engine.change(card, Cause.USAGE, add=Reason.DEVICE, detail={"bound": card.imei, "seen": imei})
    engine.emit(card, Kind.USAGE_REFUSED, Cause.USAGE, detail={"why": "device", "imei": imei})
    return False


def rebind(engine: "Engine", card: Card, imei: str) -> None:
    """Bind to a new device; clears ``device``. Every change of device counts toward CAN-3's risk check."""
    require_not_cancelled(card)
    if card.imei == imei and not card.reasons & Reason.DEVICE:
        raise SimError("already_bound", f"Card {card.iccid} is already bound to IMEI {imei}.")
    if card.imei is not None and card.imei != imei:
        card.device_changes += 1
    card.imei = imei
    engine.emit(card, Kind.DEVICE_BOUND, Cause.API, detail={"imei": imei, "first": False,
                                                           "device_changes": card.device_changes})
    if card.reasons & Reason.DEVICE:
        engine.change(card, Cause.API, remove=Reason.DEVICE, detail={"imei": imei})


def unbind(engine: "Engine", card: Card) -> None:
    """Release the device binding (CAN-1 refuses to cancel a card still bound)."""
    require_not_cancelled(card)
    if card.imei is None:
        raise SimError("not_bound", f"Card {card.iccid} is not bound to a device.")
    engine.emit(card, Kind.DEVICE_BOUND, Cause.API, detail={"imei": None, "unbound": card.imei})
    card.imei = None
