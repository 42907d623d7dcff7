"""KYC-1 real-name verification (实名认证): a card still unverified after the carrier's grace period is suspended
for ``unverified``; completing verification restores it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..clock import Due, JobKind
from ..errors import SimError
from ..events import Kind
from ..identifiers import credit_code_problem, resident_id_problem
from ..model import Account, Card, Cause, Reason, State
from ..timeutil import days_after
from .billing import require_not_cancelled

if TYPE_CHECKING:
    from ..engine import Engine

DAY = 86400


def start_grace(engine: "Engine", card: Card) -> None:
    """Start the grace period at activation; the deadline job suspends the card if it is still unverified."""
    # grace_days calendar days later at the same local time of day (not grace_days * 86400 s: a DST change in the
    # carrier's zone would move the deadline by an hour)
    card.kyc_deadline = days_after(engine.now, card.profile.kyc_grace_days, card.profile.tz)
    engine.scheduler.at(card.kyc_deadline, JobKind.KYC_DEADLINE, card)


def on_deadline(engine: "Engine", due: Due) -> None:
    """KYC-1: every card whose grace ended unverified is suspended for ``unverified`` (one bulk change)."""
    cards = [c for c in dict.fromkeys(due.targets) if c.kyc_deadline == due.when and not c.verified
             and c.phase == State.ACTIVE and not c.reasons & Reason.UNVERIFIED]
    if cards:
        order = engine.cohort()
        engine.change_many(cards, Cause.CLOCK, order, np.arange(len(cards), dtype=np.int64) * 64,
                           add=Reason.UNVERIFIED, detail=(("grace_days",), ([c.profile.kyc_grace_days for c in cards],)))
        order.finish()


def document_problem(account: Account, id_number: str) -> str | None:
    """Personal cards verify with a resident identity number, enterprise cards with a unified social credit code."""
    if account.kind == "personal":
        return resident_id_problem(id_number)
    return credit_code_problem(id_number)


def verify(engine: "Engine", card: Card, account: Account, name: str, id_number: str) -> None:
    require_not_cancelled(card)
    if not str(name).strip():
        raise SimError("invalid_identity", "The holder's name is empty.", status=422)
    problem = document_problem(account, id_number)
    if problem:
        what = "resident identity number" if account.kind == "personal" else "unified social credit code"
        raise SimError("invalid_identity", f"The {what} is not valid: {problem}", status=422)
    if card.verified:
        raise SimError("already_verified", f"Card {card.iccid} is already real-name verified.")
    card.verified, card.owner_name, card.owner_id = True, str(name).strip(), id_number
    engine.emit(card, Kind.IDENTITY_VERIFIED, Cause.API, detail={"name": card.owner_name})
    if card.reasons & Reason.UNVERIFIED:
        engine.change(card, Cause.API, remove=Reason.UNVERIFIED)
