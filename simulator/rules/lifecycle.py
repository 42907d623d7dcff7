"""LIFE-1 card states and their transitions: stock, sale (opening), testing, activation, and the end of a card's
life (``cancel``, shared by CAN-2, RET-2, CAN-5 and SWAP-1).

LIFE-2/3/4 (reason sets, stacking, events) live in ``Engine.change``, the one place states change.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..clock import JobKind
from ..errors import SimError
from ..events import Kind
from ..identifiers import luhn_check_digits, make_iccid, make_imsi, make_msisdn
from ..model import Account, Card, Cause, Reason, State, plan_of
from ..money import to_cny
from ..profile import Plan
from ..timeutil import days_after
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


def new_cards(engine: "Engine", rows: list[tuple[str, str | None, Plan | None]]) -> list[Card]:
    """``new_card`` for many cards at once (carrier, account, plan each), in order, with the same identifiers the
    cards would get one by one: the ICCID check digits of each carrier's next serials are computed together; a
    serial whose identifiers are taken goes through ``new_card``'s search."""
    now, carriers, by_iccid, numbers, cards = engine.now, engine.carriers, engine.by_iccid, engine.numbers, engine.cards
    counts: dict[str, int] = {}
    for carrier, _, _ in rows:
        engine.carrier(carrier)  # an unknown carrier is refused before anything changes
        counts[carrier] = counts.get(carrier, 0) + 1
    iccids: dict[str, tuple[int, list[str | None]]] = {}
    for carrier, k in counts.items():
        cs = carriers[carrier]
        prefixes = cs.profile.iccid_prefixes
        first = cs.serial + 1
        serials = np.arange(first, first + k, dtype=np.int64)
        out: list[str | None] = [None] * k
        for j, prefix in enumerate(prefixes):
            width = 19 - len(prefix)
            mine = np.flatnonzero(serials % len(prefixes) == j)
            if not len(mine) or first + k >= 10 ** width:
                continue  # (a serial too long for the prefix: new_card says so)
            for at, n, check in zip(mine.tolist(), serials[mine].tolist(), luhn_check_digits(prefix, serials[mine],
                                                                                            width)):
                out[at] = f"{prefix}{n:0{width}d}{check}"
        iccids[carrier] = (first, out)
    made = []
    for carrier, account_id, plan in rows:
        cs = carriers[carrier]
        p = cs.profile
        n = cs.serial + 1
        first, pre = iccids[carrier]
        iccid = pre[n - first] if 0 <= n - first < len(pre) else None
        imsi_prefix = p.imsi_prefixes[n % len(p.imsi_prefixes)]
        msisdn_prefix = p.msisdn_prefixes[n % len(p.msisdn_prefixes)]
        imsi = f"{imsi_prefix}{n:0{15 - len(imsi_prefix)}d}"
        msisdn = f"{msisdn_prefix}{n:0{13 - len(msisdn_prefix)}d}"
        if (iccid is None or iccid in by_iccid or imsi in numbers or msisdn in numbers or len(imsi) != 15
                or len(msisdn) != 13):
            made.append(new_card(engine, carrier, account_id, plan))  # taken (or too long): search one by one
            continue
        cs.serial = n
        numbers.add(imsi)
        numbers.add(msisdn)
        card = Card(len(cards), iccid, imsi, msisdn, p, account_id, plan, now)
        cards.append(card)
        by_iccid[iccid] = card
        cs.cards.append(card)
        made.append(card)
    return made


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


def open_cards(engine: "Engine", rows: list[tuple[Account, str, Plan, int, bool, bool, bool, str | None]],
               then: "Callable[[int, Card], None] | None" = None) -> list[Card]:
    """``open_card`` and then ``activate`` for a batch of new cards (a fleet), as one cohort job with the same
    outcome as the calls one by one. A row is (account, carrier, plan, payment, auto_suspend, auto_renew, activate,
    imei). BILL-1: every order must be paid, or nothing changes. LIFE-1: each card is sold ``ready`` and, if the
    row says so, activated (BIND-1 binds the device, KYC-1's grace starts). ``then(position, card)`` runs after,
    card by card, for the steps that depend on the cards before (pools, traffic); its events read after the
    card's own, as if each card had been opened, activated and used in turn."""
    for account, carrier, plan, payment, *_ in rows:
        if payment < plan.price:
            raise SimError("insufficient_balance",
                           f"Plan {plan.code} costs {plan.price / 100:.2f} CNY but only {payment / 100:.2f} CNY was "
                           "paid; the card is opened only once its plan is paid.", status=402,
                           price=to_cny(plan.price), paid=to_cny(payment))
    cards = new_cards(engine, [(carrier, account.id, plan) for account, carrier, plan, *_ in rows])
    now, n = engine.now, len(cards)
    order = engine.cohort()
    order.STEP = step = 1 << 24  # ``then`` may emit many events for one card (a pool's members resuming)
    keys = np.arange(n, dtype=np.int64) * step
    unused: dict[int, list[Card]] = {}
    for card, (account, _, plan, _, auto_suspend, auto_renew, _, _) in zip(cards, rows):
        card.account_id, card.plan = account.id, plan
        card.auto_suspend, card.auto_renew = auto_suspend, auto_renew
        card.opened_at = now
        if account.verified:
            card.verified, card.owner_name, card.owner_id = True, account.name, account.id_number
        account.cards.append(card)
        months = card.profile.cancellation.unused_cancel_months
        if months:  # CAN-5 watches every sold card, activated or not
            unused.setdefault(engine.months_after(now, months, card), []).append(card)
    engine.emit_many(cards, Kind.CARD_OPENED, Cause.API, order, keys,
                     detail=(("account", "plan", "auto_suspend", "auto_renew"),
                             ([r[0].id for r in rows], [r[2].code for r in rows], [r[4] for r in rows],
                              [r[5] for r in rows])))
    engine.change_many(cards, Cause.API, order, keys + 1, phase=State.READY)
    engine.post_many(cards, Kind.PAYMENT, np.array([r[3] for r in rows], np.int64), Cause.API, "payment", order,
                     keys + 2)
    engine.post_many(cards, Kind.CHARGE, np.array([-r[2].price for r in rows], np.int64), Cause.API,
                     [r[2].code for r in rows], order, keys + 3)
    for when, due in unused.items():
        engine.scheduler.at_many(when, JobKind.UNUSED_CHECK, due)
    chosen = [i for i, r in enumerate(rows) if r[6]]
    active = [cards[i] for i in chosen]
    grace: dict[int, list[Card]] = {}
    for card in active:
        card.term_start = now
        card.term_end = engine.term_end_from(card, plan_of(card).term_months)
        engine.schedule_term_end(card)
        card.activated_at = now
    bound = [i for i in chosen if rows[i][7] is not None and cards[i].bind_device]
    for i in bound:
        cards[i].imei = rows[i][7]
    engine.emit_many([cards[i] for i in bound], Kind.DEVICE_BOUND, Cause.API, order, keys[bound] + 4,
                     detail=(("imei", "first"), ([rows[i][7] for i in bound], True)))
    engine.change_many(active, Cause.API, order, keys[chosen] + 5, phase=State.ACTIVE)
    for card in active:
        if not card.verified:  # KYC-1
            card.kyc_deadline = days_after(now, card.profile.kyc_grace_days, card.profile.tz)
            grace.setdefault(card.kyc_deadline, []).append(card)
    for when, due in grace.items():
        engine.scheduler.at_many(when, JobKind.KYC_DEADLINE, due)
    if then is not None:
        for pos, card in enumerate(cards):
            before = len(engine.events)
            then(pos, card)
            order.slow(int(keys[pos]) + 8, before)
    order.finish()
    return cards


def activate(engine: "Engine", card: Card, imei: str | None) -> None:
    """LIFE-1 ``ready``/``testing`` → ``active``. The paid term starts now (unless a swapped card carries one);
    BIND-1 binds the device; KYC-1's grace period starts."""
    if card.phase not in (State.READY, State.TESTING):
        raise SimError("invalid_state", f"Card {card.iccid} is {card.state.label}; only a ready or testing card "
                       "can be activated.", state=card.state.label)
    if card.term_end is None:
        card.term_start = engine.now
        card.term_end = engine.term_end_from(card, plan_of(card).term_months)
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
