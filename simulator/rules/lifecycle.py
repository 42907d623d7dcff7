"""LIFE-1 card states and their transitions: stock, sale (opening), testing, activation, and the end of a card's
life (``cancel``, shared by CAN-2, RET-2, CAN-5 and SWAP-1).

LIFE-2/3/4 (reason sets, stacking, events) live in ``Engine.change``, the one place states change.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from ..clock import JobKind
from ..errors import SimError
from ..events import Kind
from ..identifiers import make_iccid, make_imsi, make_msisdn
from ..model import Account, Card, Cause, Reason, State
from ..money import to_cny
from ..profile import Plan
from .real_name import start_grace

if TYPE_CHECKING:
    from ..engine import CohortOrder, Engine


def new_card(engine: "Engine", carrier: str, account_id: str | None, plan: Plan | None,
             iccid: str | None = None) -> Card:
    """A card with fresh identifiers of the carrier's ranges (ID-1); registered in every index."""
    cs = engine.carrier(carrier)
    p = cs.profile
    cs.serial += 1
    n = cs.serial
    if iccid is None:
        prefix = p.iccid_prefixes[n % len(p.iccid_prefixes)]
        iccid = make_iccid(prefix, n)
        while iccid in engine.by_iccid:  # a user-chosen ICCID may have taken this serial
            cs.serial += 1
            iccid = make_iccid(prefix, cs.serial)
    imsi = make_imsi(p.imsi_prefixes[n % len(p.imsi_prefixes)], n)
    msisdn = make_msisdn(p.msisdn_prefixes[n % len(p.msisdn_prefixes)], n)
    while imsi in engine.numbers or msisdn in engine.numbers:  # user profiles may share number ranges
        cs.serial += 1
        imsi = make_imsi(p.imsi_prefixes[cs.serial % len(p.imsi_prefixes)], cs.serial)
        msisdn = make_msisdn(p.msisdn_prefixes[cs.serial % len(p.msisdn_prefixes)], cs.serial)
    engine.numbers.add(imsi)
    engine.numbers.add(msisdn)
    card = Card(len(engine.cards), iccid, imsi, msisdn, p, account_id, plan, engine.now)
    engine.cards.append(card)
    engine.by_iccid[iccid] = card
    cs.cards.append(card)
    return card


def add_inventory(engine: "Engine", carrier: str, count: int) -> list[Card]:
    """LIFE-1 ``inventory`` (库存): cards the carrier holds, not yet sold to anyone."""
    return [new_card(engine, carrier, None, None) for _ in range(count)]


def open_card(engine: "Engine", account: Account, carrier: str, plan: Plan, *, payment: int, auto_suspend: bool,
              auto_renew: bool, testing: bool, iccid: str | None) -> Card:
    """Sell a card with its plan. BILL-1: prepaid — the plan is opened only once paid; too little money refuses
    the order and changes nothing. LIFE-1: the card starts ``testing`` (可测试) or ``ready`` (待激活)."""
    if payment < plan.price:
        raise SimError("insufficient_balance",
                       f"Plan {plan.code} costs {plan.price / 100:.2f} CNY but only {payment / 100:.2f} CNY was paid; "
                       "the card is opened only once its plan is paid.", status=402,
                       price=to_cny(plan.price), paid=to_cny(payment))
    stock = None
    if iccid is not None:
        stock = engine.by_iccid.get(iccid)
        if stock is None or stock.phase != State.INVENTORY or stock.profile.id != carrier:
            raise SimError("card_not_in_stock", f"ICCID {iccid} is not an unsold {carrier} card in stock.",
                           status=409)
    card = stock or new_card(engine, carrier, account.id, plan)
    card.account_id, card.plan = account.id, plan
    card.auto_suspend, card.auto_renew = auto_suspend, auto_renew
    card.opened_at = engine.now
    if account.verified:
        card.verified, card.owner_name, card.owner_id = True, account.name, account.id_number
    account.cards.append(card)
    engine.emit(card, Kind.CARD_OPENED, Cause.API, detail={"account": account.id, "plan": plan.code,
                                                          "auto_suspend": auto_suspend, "auto_renew": auto_renew})
    engine.change(card, Cause.API, phase=State.TESTING if testing else State.READY)
    engine.post(card, Kind.PAYMENT, payment, Cause.API, "payment")
    engine.post(card, Kind.CHARGE, -plan.price, Cause.API, plan.code)
    months = card.profile.cancellation.unused_cancel_months
    if months:  # CAN-5 watches every sold card, activated or not
        engine.scheduler.at(engine.months_after(engine.now, months, card), JobKind.UNUSED_CHECK, card)
    return card


def activate(engine: "Engine", card: Card, imei: str | None) -> None:
    """LIFE-1 ``ready``/``testing`` → ``active``. The paid term starts now (unless a swapped card carries one);
    BIND-1 binds the device; KYC-1's grace period starts."""
    if card.phase not in (State.READY, State.TESTING):
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label}; only a ready or testing card "
                       "can be activated.", state=card.state.label)
    if card.term_end is None:
        card.term_start = engine.now
        card.term_end = engine.term_end_from(card, card.plan.term_months)
        engine.schedule_term_end(card)
    card.activated_at = engine.now
    clear = 0
    if imei is not None and card.bind_device:
        # BIND-1: first activation binds the card to this device. A device seen while testing was provisional:
        # activation with the production device replaces it and lifts a mismatch raised during the test.
        card.imei = imei
        engine.emit(card, Kind.DEVICE_BOUND, Cause.API, detail={"imei": imei, "first": True})
        clear = Reason.DEVICE
    engine.change(card, Cause.API, phase=State.ACTIVE, remove=clear)
    if not card.verified:
        if card.kyc_deadline is None:
            start_grace(engine, card)  # KYC-1
        elif card.kyc_deadline <= engine.now and not card.reasons & Reason.UNVERIFIED:
            # SWAP-1: a replacement card keeps its number's real-name grace (a swap must not restart it); a deadline
            # that passed while the new card waited to be activated applies as soon as it is in service
            engine.change(card, Cause.API, add=Reason.UNVERIFIED, detail={"grace_days": card.profile.kyc_grace_days})


def cancel(engine: "Engine", card: Card, cause: Cause, why: str) -> None:
    """End a card's life: ``cancelled``; personal data wiped (CAN-4); a certificate for requested cancellations."""
    card.cancelled_at, card.cancel_cause = engine.now, why
    card.pending_plan = card.pending_at = None
    engine.change(card, cause, phase=State.CANCELLED, detail={"why": why})
    if why == "requested":
        digest = hashlib.sha256(f"{card.iccid}|{card.msisdn}|{engine.now}".encode()).hexdigest()[:16].upper()
        card.certificate = {"number": f"CERT-{card.profile.id.upper()}-{digest}", "iccid": card.iccid,
                            "msisdn": card.msisdn, "carrier": card.profile.id, "account": card.account_id,
                            "cancelled_at": engine.iso(engine.now)}
        engine.emit(card, Kind.CERTIFICATE_ISSUED, cause, detail={"number": card.certificate["number"]})
    card.owner_name = card.owner_id = card.imei = None
    engine.emit(card, Kind.DATA_WIPED, cause)


def cancel_many(engine: "Engine", cards: list[Card], cause: Cause, why: str, order: "CohortOrder",
                keys: np.ndarray) -> None:
    """``cancel`` for a cohort (RET-2, CAN-5): ``cancelled``, personal data wiped (CAN-4). A requested cancellation
    (with its certificate) goes card by card."""
    if why == "requested":
        for card, key in zip(cards, keys.tolist()):
            before = len(engine.events)
            cancel(engine, card, cause, why)
            order.slow(key, before)
        return
    now = engine.now
    for card in cards:
        card.cancelled_at, card.cancel_cause = now, why
        card.pending_plan = card.pending_at = None
    engine.change_many(cards, cause, order, keys, phase=State.CANCELLED, detail=(("why",), (why,)))
    for card in cards:
        card.owner_name = card.owner_id = card.imei = None
    engine.emit_many(cards, Kind.DATA_WIPED, cause, order, keys + 1)
