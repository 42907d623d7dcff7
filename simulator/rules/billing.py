"""Billing and prepayment: BILL-1 (pay before), BILL-4 (arrears), BILL-5 (resuming after arrears).

BILL-4 and the automatic half of BILL-5 are enforced in ``Engine.post``, because every balance change must check
them; this module holds the operations. BILL-2 (what a cycle start does) is ``simulator.rules.cycle``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason, State
from ..money import to_cny
from ..timeutil import to_iso

if TYPE_CHECKING:
    from ..engine import Engine

MAX_TOP_UP = 10_000_000  # fen: 100,000 CNY, a sanity bound on one payment


def require_funds(card: Card, price: int, what: str) -> None:
    """BILL-1: prepaid — an order the balance does not cover is refused and changes nothing."""
    if card.balance < price:
        raise SimError("insufficient_balance",
                       f"{what} costs {to_cny(price)} CNY but card {card.iccid} has a balance of "
                       f"{to_cny(card.balance)} CNY; top up first.", status=402,
                       price=to_cny(price), balance=to_cny(card.balance))


def require_not_cancelled(card: Card) -> None:
    """RET-3: a cancelled card cannot be renewed, resumed or paid into; its number is gone."""
    if card.phase == State.CANCELLED:
        raise SimError("card_cancelled", f"Card {card.iccid} is cancelled ({card.cancel_cause}); it cannot be "
                       "renewed, resumed or topped up.", cancelled_at=to_iso(card.cancelled_at, card.profile.tz))


def top_up(engine: "Engine", card: Card, amount: int) -> int:
    """A payment into the card's balance; BILL-5 resumes an ``arrears`` card when the carrier resumes on payment."""
    if amount <= 0 or amount > MAX_TOP_UP:
        raise SimError("invalid_input", f"A top-up must be between 0.01 and {to_cny(MAX_TOP_UP)} CNY.", status=422)
    require_not_cancelled(card)
    return engine.post(card, Kind.PAYMENT, amount, Cause.API, "top_up")


def reactivate(engine: "Engine", card: Card) -> None:
    """BILL-5 人工复机: where the profile does not resume on payment, a paid-up card resumes on request."""
    require_not_cancelled(card)
    if not card.reasons & Reason.ARREARS:
        raise SimError("not_in_arrears", f"Card {card.iccid} is not suspended for arrears.")
    if card.balance < 0:
        raise SimError("insufficient_balance", f"Card {card.iccid} still owes {to_cny(-card.balance)} CNY; pay the "
                       "arrears before asking to resume.", status=402, balance=to_cny(card.balance))
    engine.change(card, Cause.API, remove=Reason.ARREARS, detail={"request": "reactivate"})
