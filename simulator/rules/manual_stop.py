"""MAN-1 manual stop (人工停用) and manual resume (人工开启)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..model import Card, Cause, Reason, State, reason_names
from .billing import require_not_cancelled

if TYPE_CHECKING:
    from ..engine import Engine


_WORDS = {"expired": "its plan has expired", "arrears": "it has arrears", "quota": "it is over quota"}


def refusal_reasons(card: Card) -> list[str]:
    """MAN-1: what forbids a manual stop — an expired plan, arrears, being over quota."""
    return [name for name, blocked in (("expired", card.reasons & Reason.EXPIRED),
                                       ("arrears", card.balance < 0 or card.reasons & Reason.ARREARS),
                                       ("quota", card.reasons & Reason.QUOTA)) if blocked]


def suspend(engine: "Engine", card: Card) -> None:
    """MAN-1: allowed only while the plan is valid, the card has no arrears and is not over quota."""
    require_not_cancelled(card)
    if card.phase != State.ACTIVE:
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label}; only an activated card can be "
                       "stopped.", state=card.state.label)
    if card.reasons & Reason.MANUAL:
        raise SimError("already_suspended", f"Card {card.iccid} is already manually stopped.")
    why = refusal_reasons(card)
    if why:
        raise SimError("manual_suspend_not_allowed", f"Card {card.iccid} cannot be stopped manually because "
                       f"{' and '.join(_WORDS[w] for w in why)}.", reasons=why)
    engine.change(card, Cause.API, add=Reason.MANUAL)


def resume(engine: "Engine", card: Card) -> None:
    """MAN-1: manual resume clears ``manual``; LIFE-3: the card stays suspended while other reasons remain."""
    require_not_cancelled(card)
    if not card.reasons & Reason.MANUAL:
        raise SimError("not_manually_suspended", f"Card {card.iccid} is not manually stopped; "
                       "a manual resume only lifts a manual stop.", reasons=reason_names(card.reasons))
    engine.change(card, Cause.API, remove=Reason.MANUAL)

