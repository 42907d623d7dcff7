"""Cancellation (注销): CAN-1 preconditions, CAN-2 review, CAN-3 manual review of high-risk cards, CAN-4 what
follows (balance refund window, certificate, data wipe), CAN-5 carrier cancellation of long-unused cards.

The common end of every card's life (requested, RET-2, CAN-5, SWAP-1) is ``lifecycle.cancel``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..clock import Due, JobKind
from ..errors import SimError
from ..events import Kind
from ..model import Account, Card, Cause, Reason, State
from .lifecycle import cancel, cancel_many
from .real_name import document_problem
from .retention import end_term

if TYPE_CHECKING:
    from ..engine import Engine


def refusal_reasons(card: Card) -> list[str]:
    """CAN-1: cancellation is refused while the card has arrears, is bound to a device, or renews automatically."""
    why = []
    if card.balance < 0 or card.reasons & Reason.ARREARS:
        why.append("arrears")
    if card.imei is not None:
        why.append("device_bound")
    if card.auto_renew:
        why.append("auto_renew_on")
    return why


_WORDS = {"arrears": "it has arrears (pay them first)", "device_bound": "it is still bound to a device (unbind it)",
          "auto_renew_on": "auto-renewal is on (turn it off)"}


def check(engine: "Engine", card: Card, account: Account, document: str) -> None:
    """Everything that refuses a cancellation request, raised before anything changes."""
    if card.phase == State.CANCELLED:
        raise SimError("card_cancelled", f"Card {card.iccid} is already cancelled.")
    if card.phase == State.PENDING_CANCEL:
        raise SimError("cancellation_pending", f"Card {card.iccid} already has a cancellation under review.")
    if card.phase == State.INVENTORY:
        raise SimError("invalid_state", f"Card {card.iccid} was never sold.")
    why = refusal_reasons(card)
    if why:
        raise SimError("cancellation_not_allowed", f"Card {card.iccid} cannot be cancelled because "
                       f"{'; '.join(_WORDS[w] for w in why)}.", reasons=why)
    # CAN-2: personal cards need the holder's identity, enterprise cards a business licence.
    problem = document_problem(account, document)
    what = "resident identity number" if account.kind == "personal" else "business licence (credit code)"
    if problem:
        raise SimError("invalid_document", f"Cancellation needs the {what}: {problem}", status=422)
    if account.kind == "personal":
        # CAN-2: a personal card is cancelled by its real-name verified holder; a card nobody has verified has no
        # holder whose identity could be checked, so any valid resident id must not do.
        if not card.verified:
            raise SimError("identity_not_verified", f"Card {card.iccid} has no real-name verified holder; verify "
                           "the holder's identity before asking to cancel it.")
        expected = card.owner_id
    else:
        expected = account.id_number
    # a resident id's check character X may be typed in lower case: it is the same number
    if expected and document.upper() != expected.upper():
        raise SimError("document_mismatch", f"The {what} does not match the card's holder.", status=422)


def high_risk(card: Card) -> bool:
    """CAN-3: frequent device changes or abnormal usage (traffic from a restricted region) send the request to
    manual review."""
    return (card.device_changes >= card.profile.cancellation.high_risk_device_changes
            or bool(card.reasons & Reason.REGION))


def submit(engine: "Engine", cards: list[Card], batch_size: int) -> list[dict]:
    """CAN-2: review within the carrier's working days; a batch of ``batch_threshold`` cards or more within its
    batch time. CAN-3: high-risk cards take the manual review's longer time and may be rejected."""
    out = []
    plans = []
    for card in cards:  # every due time first: a calendar that refuses a year refuses before anything changed
        terms = card.profile.cancellation
        manual = high_risk(card)
        days = (terms.manual_review_working_days if manual else
                terms.batch_review_working_days if batch_size >= terms.batch_threshold else terms.review_working_days)
        plans.append((card, manual, days, card.profile.calendar.add_working_days(engine.now, days, card.profile.tz)))
    for card, manual, days, due in plans:
        card.cancel_request = {"requested_at": engine.now, "due": due, "review": "manual" if manual else "standard",
                               "batch_size": batch_size, "previous_phase": int(card.phase)}
        engine.emit(card, Kind.CANCELLATION_REQUESTED, Cause.API,
                    detail={"review": card.cancel_request["review"], "due": engine.iso(due),
                            "working_days": days, "batch_size": batch_size})
        engine.change(card, Cause.API, phase=State.PENDING_CANCEL)
        engine.scheduler.at(due, JobKind.REVIEW_DONE, card)
        out.append({"iccid": card.iccid, "review": card.cancel_request["review"], "due": due})
    return out


def on_review_done(engine: "Engine", due: Due) -> None:
    for card in due.targets:
        req = card.cancel_request
        if card.phase != State.PENDING_CANCEL or not req or req["due"] != due.when:
            continue
        if req["review"] == "manual" and card.device_changes >= card.profile.cancellation.reject_device_changes:
            engine.emit(card, Kind.CANCELLATION_REJECTED, Cause.CLOCK,
                        detail={"why": "manual review: too many device changes",
                                "device_changes": card.device_changes})
            card.cancel_request = None
            engine.change(card, Cause.CLOCK, phase=State(req["previous_phase"]))
            if card.term_end is not None and card.term_end <= engine.now:
                end_term(engine, card)  # the term ended while the card was frozen under review
            if card.profile.cancellation.unused_cancel_months:
                # CAN-5 skipped the card while it was under review; watch it again now that it stays in service
                engine.scheduler.at(engine.now, JobKind.UNUSED_CHECK, card)
            continue
        cancel(engine, card, Cause.CLOCK, "requested")


def on_unused_check(engine: "Engine", due: Due) -> None:
    """CAN-5: a carrier may cancel cards left unused for its profile's months (from the last traffic, else
    activation, else sale); a card used since is checked again later. The cancellations are one bulk job."""
    unused, gone = [], set()
    now, at, months_after = engine.now, engine.scheduler.at, engine.months_after
    for card in due.targets:
        months = card.profile.cancellation.unused_cancel_months
        if not months or card.phase in (State.CANCELLED, State.PENDING_CANCEL, State.INVENTORY) or card.idx in gone:
            continue
        last = card.last_used_at or card.activated_at or card.opened_at
        limit = months_after(last, months, card)
        if limit > now:
            at(limit, JobKind.UNUSED_CHECK, card)
        else:
            unused.append(card)
            gone.add(card.idx)
    if unused:
        order = engine.cohort()
        cancel_many(engine, unused, Cause.CLOCK, "unused", order, np.arange(len(unused), dtype=np.int64) * 64)
        order.finish()
