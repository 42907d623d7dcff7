"""``Simulation``: the engine's public operations as a plain Python API.

Each operation validates its input, looks the card up *as the calling account* (PLAN-3: another account's card is
indistinguishable from a card that does not exist), refuses with ``SimError`` before changing anything, and hands
over to the rule module that owns the behaviour. Reads return typed, frozen records (``simulator.records``): money
in fen, instants as datetimes, the ``State`` enum and ``Reasons`` sets; each API renders them its own way.

``Simulation`` *holds* an ``Engine`` rather than being one: callers see operations and reads, never the scheduler,
the cohort indices or the primitives rules are written with. The operations are declared once more, with their
parameters, results and rule ids, in ``simulator.operations`` — the table the APIs and targets dispatch through.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
from datetime import datetime, tzinfo
from typing import Any, Callable, Iterable, Iterator

from .batch_files import OPERATIONS, BatchFileError, read_batch
from .card_facts import CardFacts
from .clock import JobKind
from .engine import DEFAULT_START, DEFAULT_TIMEZONE, Engine
from .errors import SimError, bad_input, not_found
from .gcpause import paused_gc
from .events import Kind
from .identifiers import iccid_problem, imei_problem, luhn_check_digits
from .model import Account, Card, Cause, Pool, State
from .money import to_fen
from .profile import AddOn, CarrierProfile, Plan, load_profile
from .rules import (billing, cancellation, carrier_control, cycle, device_binding, lifecycle, lost_swap, maintenance, manual_stop,
                    plan_change, quota, real_name, refunds, regions, retention, usage)
from . import reads
from . import records as rec
from .timeutil import Instant, to_datetime


class Simulation:
    """A deterministic world of carriers, accounts and cards on a virtual clock (frozen until ``advance``)."""

    def __init__(self, *, seed: int = 0, start: object = DEFAULT_START,
                 profiles: Iterable[CarrierProfile | str] | None = None, timezone: str = DEFAULT_TIMEZONE) -> None:
        loaded = None if profiles is None else [p if isinstance(p, CarrierProfile) else load_profile(p)
                                                for p in profiles]
        engine = self.engine = Engine(seed=seed, start=start, profiles=loaded, timezone=timezone)
        # module-level functions, not closures: a Simulation pickles whole for snapshots
        engine.on(JobKind.CYCLE_START, cycle.on_cycle_start)
        engine.on(JobKind.RETENTION_LIMIT, retention.on_limit)
        engine.on(JobKind.KYC_DEADLINE, real_name.on_deadline)
        engine.on(JobKind.REVIEW_DONE, cancellation.on_review_done)
        engine.on(JobKind.UNUSED_CHECK, cancellation.on_unused_check)
        engine.on(JobKind.MAINTENANCE_END, maintenance.on_end)

    # ------------------------------------------------------------------ the clock and the world's constants

    @property
    def seed(self) -> int:
        return self.engine.seed

    @property
    def tz(self) -> tzinfo:
        """The simulation's zone (carrier-local times are each carrier's own)."""
        return self.engine.tz

    @property
    def now(self) -> Instant:
        """The simulated time as epoch seconds (``clock()`` gives it as a datetime)."""
        return self.engine.now

    def clock(self) -> datetime:
        return self.engine.now_dt()

    def iso(self, ts: Instant | None) -> str | None:
        return self.engine.iso(ts)

    def advance(self, to: object = None, by: object = None) -> rec.AdvanceResult:
        """Move the clock forward, running every due job in time order; return when the world has settled."""
        return self.engine.advance(to, by)

    def resolve_target(self, to: object = None, by: object = None) -> Instant:
        return self.engine.resolve_target(to, by)

    def carrier_ids(self) -> list[str]:
        return list(self.engine.carriers)

    def profile(self, carrier: str) -> CarrierProfile:
        return self.engine.carrier(carrier).profile

    # ------------------------------------------------------------------ lookups

    def _account(self, account_id: str) -> Account:
        account = self.engine.accounts.get(account_id)
        if account is None:
            raise not_found("account", account_id)
        return account

    def _card(self, account_id: str | None, iccid: str, *, command: bool = True) -> Card:
        """The card as ``account_id`` may see it (None: the simulator's own view, for world actions and tests).
        PLAN-3: only the channel that sold a card serves it; to anyone else it does not exist."""
        card = self.engine.by_iccid.get(iccid) if isinstance(iccid, str) else None
        if card is None:  # only an unknown ICCID needs the format check (a known one is valid by construction)
            if not isinstance(iccid, str):
                raise bad_input(f"An ICCID must be a string of digits, got {iccid!r}.")
            problem = iccid_problem(iccid)
            if problem:
                raise SimError("invalid_iccid", problem, status=422, iccid=iccid)
        if card is None or (account_id is not None and card.account_id != account_id):
            raise not_found("card", iccid)
        if account_id is not None:  # MAINT-1: a read is refused too where the profile says so
            maintenance.gate(self.engine, self.engine.carriers[card.profile.id], read=not command)
        return card

    def _plan(self, card_or_carrier: Card | str, code: str) -> Any:
        carrier = card_or_carrier if isinstance(card_or_carrier, str) else card_or_carrier.profile.id
        plan = self.engine.carrier(carrier).profile.plans.get(code)
        if plan is None:
            raise SimError("plan_not_found", f"{carrier} has no plan {code!r}; its plans: "
                           f"{', '.join(self.engine.carriers[carrier].profile.plans)}.", status=404)
        return plan

    @staticmethod
    def _imei(imei: Any) -> str:
        problem = imei_problem(imei) if isinstance(imei, str) else f"{imei!r} is not a string of 15 digits"
        if problem:
            raise SimError("invalid_imei", problem, status=422)
        return imei

    # ------------------------------------------------------------------ accounts, cards, pools

    def create_account(self, name: str, *, kind: str = "enterprise", channel: str = "direct",
                       verified: bool = False, id_number: str | None = None, account_id: str | None = None) -> str:
        if kind not in ("enterprise", "personal"):
            raise bad_input(f"An account is 'enterprise' or 'personal', not {kind!r}.")
        if not str(name).strip():
            raise bad_input("An account needs a name.")
        if id_number is not None:
            problem = real_name.document_problem(Account("", "", kind, "", False, None), id_number)
            if problem:
                raise SimError("invalid_identity", problem, status=422)
        account_id = account_id or f"acc-{len(self.engine.accounts) + 1:04d}"
        if account_id in self.engine.accounts:
            raise SimError("account_exists", f"Account {account_id!r} already exists.")
        self.engine.accounts[account_id] = Account(account_id, str(name).strip(), kind, channel, verified, id_number)
        return account_id

    def add_inventory(self, carrier: str, count: int = 1) -> list[str]:
        """LIFE-1 ``inventory``: unsold cards in the carrier's stock."""
        if not 1 <= count <= 100_000:
            raise bad_input("count must be between 1 and 100000.")
        return [c.iccid for c in lifecycle.add_inventory(self.engine, carrier, count)]

    def open_card(self, account_id: str, carrier: str, plan: str, *, payment: object = None,
                  auto_suspend: bool = True, auto_renew: bool = True, testing: bool = False,
                  iccid: str | None = None) -> str:
        """Sell a card with a paid plan (BILL-1). ``payment`` (CNY) defaults to the plan's price."""
        account = self._account(account_id)
        maintenance.gate(self.engine, self.engine.carrier(carrier))
        p = self._plan(carrier, plan)
        amount = p.price if payment is None else to_fen(payment, what="payment")
        if amount < 0:
            raise bad_input("A payment cannot be negative.")
        problem = iccid_problem(iccid) if iccid is not None else None
        if problem:
            raise SimError("invalid_iccid", problem, status=422)
        return lifecycle.open_card(self.engine, account, carrier, p, payment=amount, auto_suspend=bool(auto_suspend),
                                   auto_renew=bool(auto_renew), testing=bool(testing), iccid=iccid).iccid

    def open_cards(self, rows: Iterable[tuple[str, str, str, int, bool, bool, bool, str | None]],
                   then: Callable[[int, str], None] | None = None) -> list[str]:
        """``open_card`` then ``activate`` for many new cards at once (a fleet build), with the outcome of the calls
        one by one. A row is (account, carrier, plan code, payment in fen, auto_suspend, auto_renew, activate,
        imei or None). ``then(position, iccid)`` runs after each card's own steps, card by card (pools, traffic).
        As one by one, a carrier in maintenance (MAINT-1) refuses its first card: the cards before it are opened."""
        prepared, refusal = [], None
        for account_id, carrier, plan, payment, auto_suspend, auto_renew, activate, imei in rows:
            account = self._account(account_id)
            try:
                maintenance.gate(self.engine, self.engine.carrier(carrier))
            except SimError as exc:
                refusal = exc
                break
            if not isinstance(payment, int) or isinstance(payment, bool) or payment < 0:
                raise bad_input(f"A payment is a non-negative number of fen, got {payment!r}.")
            prepared.append((account, carrier, self._plan(carrier, plan), payment, bool(auto_suspend),
                             bool(auto_renew), bool(activate), imei))
        imeis = [(i, r[7]) for i, r in enumerate(prepared) if r[7] is not None]
        plain = [(i, imei) for i, imei in imeis if type(imei) is str and len(imei) == 15 and imei.isascii()
                 and imei.isdigit()]
        checks = luhn_check_digits("", [int(imei[:14]) for _, imei in plain], 14)  # ID-1, checked in bulk
        if len(plain) < len(imeis) or any(imei[14] != c for (_, imei), c in zip(plain, checks)):
            for _, imei in imeis:
                self._imei(imei)  # the first bad one says what is wrong with it
        step = None if then is None else (lambda pos, card: then(pos, card.iccid))
        with paused_gc():
            cards = lifecycle.open_cards(self.engine, prepared, step)
        if refusal is not None:
            raise refusal
        return [c.iccid for c in cards]

    def activate(self, account_id: str, iccid: str, imei: str | None = None) -> None:
        card = self._card(account_id, iccid)
        lifecycle.activate(self.engine, card, None if imei is None else self._imei(imei))

    def create_pool(self, account_id: str, carrier: str, name: str = "pool") -> str:
        self._account(account_id)
        return quota.create_pool(self.engine, account_id, carrier, name).id

    def _pool(self, account_id: str, pool_id: str) -> Pool:
        pool = self.engine.pools.get(pool_id)
        if pool is None or pool.account_id != account_id:
            raise not_found("pool", pool_id)
        return pool

    def add_to_pool(self, account_id: str, pool_id: str, iccid: str) -> None:
        quota.add_to_pool(self.engine, self._pool(account_id, pool_id), self._card(account_id, iccid))

    # ------------------------------------------------------------------ world actions (the network, test control)

    def report_usage(self, iccid: str, *, mb: object = None, kb: int | None = None, region: str | None = None,
                     imei: str | None = None) -> rec.UsageResult:
        """Traffic seen by the network for a card, from a region and a device (either may be omitted)."""
        if mb is not None and kb is not None:
            raise bad_input("Give the amount of data as mb= or kb=, not both.")
        if mb is not None:
            try:
                value = float(mb)  # type: ignore[arg-type]  # anything float() refuses is reported below
                if value < 0 or isinstance(mb, bool):
                    raise ValueError
                amount = round(value * 1024)
            except (TypeError, ValueError, OverflowError):
                raise bad_input(f"mb must be a finite, non-negative number of megabytes, got {mb!r}.") from None
        else:
            amount = 0 if kb is None else kb
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise bad_input(f"Usage must be a non-negative amount, got {mb if mb is not None else kb!r}.")
        card = self._card(None, iccid)
        code = regions.normalise_region(region) if region is not None else None
        device = self._imei(imei) if imei is not None else None
        accepted, why = usage.report(self.engine, card, amount, code, device)
        self.facts.on_usage(card.iccid, accepted, self.engine.now)  # usage by the hour, for carrier dialects
        return rec.UsageResult(card.iccid, accepted, amount - accepted, why, card.state, rec.Reasons.of(card.reasons))

    def report_usage_many(self, reports: Iterable[Any]) -> rec.UsageBatchResult:
        """A batch of traffic reports for load generators: each is ``(iccid, kb)``, ``(iccid, kb, region, imei)``
        or a mapping with those keys (region and imei optional), applied in order exactly as ``report_usage``
        would apply them one by one; the result is totals, not one record per report. Every row is checked
        first: a bad one refuses the batch, unapplied."""
        rows: list[tuple[Card, int, str | None, str | None]] = []
        get = self.engine.by_iccid.get
        for row in reports:  # every row checked before any is applied: a bad row refuses the batch unapplied
            if type(row) is tuple and len(row) == 2:  # the common row: (iccid, kb)
                card = get(row[0])
                kb = row[1]
                if card is not None and type(kb) is int and kb >= 0:
                    rows.append((card, kb, None, None))
                    continue
            if isinstance(row, dict):
                unknown = set(row) - {"iccid", "kb", "region", "imei"}
                if unknown or "iccid" not in row or "kb" not in row:
                    raise bad_input(f"A usage report has iccid and kb (and region, imei), got {sorted(row)}.")
                row = (row["iccid"], row["kb"], row.get("region"), row.get("imei"))
            if not isinstance(row, (tuple, list)) or not 2 <= len(row) <= 4:
                raise bad_input(f"A usage report is (iccid, kb[, region[, imei]]), got {row!r}.")
            kb = row[1]
            if type(kb) is not int or kb < 0:
                raise bad_input(f"Usage must be a non-negative amount of KB, got {kb!r}.")
            card = get(row[0]) if type(row[0]) is str else None
            if card is None:
                card = self._card(None, row[0])  # the error an unknown or malformed ICCID gets
            region, imei = (*row[2:], None, None)[:2]
            rows.append((card, kb, regions.normalise_region(region) if region is not None else None,
                         self._imei(imei) if imei is not None else None))
        with paused_gc():
            accepted_total, refused_total, refused = usage.report_many(self.engine, rows)
        return rec.UsageBatchResult(len(rows), accepted_total, refused_total, dict(sorted(refused.items())))

    def start_maintenance(self, carrier: str, *, until: object = None, duration: object = None,
                          stop_cards: bool = True) -> None:
        """MAINT-1: open a maintenance window (test control)."""
        maintenance.start(self.engine, self.engine.carrier(carrier), self.resolve_target(until, duration), stop_cards)

    def end_maintenance(self, carrier: str) -> None:
        maintenance.end(self.engine, self.engine.carrier(carrier))

    def carrier_bar(self, iccid: str, note: str = "") -> None:
        """LIFE-2 ``carrier`` (运营商管控): the carrier stops a card on its own authority (test control)."""
        carrier_control.bar(self.engine, self._card(None, iccid), note)

    def carrier_release(self, iccid: str) -> None:
        carrier_control.release(self.engine, self._card(None, iccid))

    # ------------------------------------------------------------------ platform actions

    def top_up(self, account_id: str, iccid: str, amount: object) -> int:
        """A payment into the card's balance; returns the payment's event number (for REF-1)."""
        return billing.top_up(self.engine, self._card(account_id, iccid), to_fen(amount))

    def reactivate(self, account_id: str, iccid: str) -> None:
        billing.reactivate(self.engine, self._card(account_id, iccid))

    def buy_addon(self, account_id: str, iccid: str, addon: str) -> None:
        card = self._card(account_id, iccid)
        pack = card.profile.addons.get(addon)
        if pack is None:
            raise SimError("addon_not_found", f"{card.profile.id} has no add-on {addon!r}; its add-ons: "
                           f"{', '.join(card.profile.addons)}.", status=404)
        quota.buy_addon(self.engine, card, pack)

    def renew(self, account_id: str, iccid: str) -> str:
        return retention.renew(self.engine, self._card(account_id, iccid))

    def change_plan(self, account_id: str, iccid: str, plan: str) -> datetime:
        """PLAN-1: returns when the change takes effect (the next cycle start)."""
        card = self._card(account_id, iccid)
        return to_datetime(plan_change.request(self.engine, card, self._plan(card, plan)), self.tz)

    def withdraw_plan_change(self, account_id: str, iccid: str) -> None:
        plan_change.withdraw(self.engine, self._card(account_id, iccid))

    def suspend(self, account_id: str, iccid: str) -> None:
        manual_stop.suspend(self.engine, self._card(account_id, iccid))

    def resume(self, account_id: str, iccid: str) -> None:
        manual_stop.resume(self.engine, self._card(account_id, iccid))

    def verify_identity(self, account_id: str, iccid: str, name: str, id_number: str) -> None:
        card = self._card(account_id, iccid)
        real_name.verify(self.engine, card, self.engine.accounts[account_id], name, id_number)

    def rebind_device(self, account_id: str, iccid: str, imei: str) -> None:
        device_binding.rebind(self.engine, self._card(account_id, iccid), self._imei(imei))

    def unbind_device(self, account_id: str, iccid: str) -> None:
        device_binding.unbind(self.engine, self._card(account_id, iccid))

    def set_auto_renew(self, account_id: str, iccid: str, enabled: bool) -> None:
        card = self._card(account_id, iccid)
        billing.require_not_cancelled(card)
        if not isinstance(enabled, bool):
            raise bad_input(f"enabled must be true or false, got {enabled!r}.")
        if card.auto_renew != enabled:
            card.auto_renew = enabled
            self.engine.emit(card, Kind.AUTO_RENEW_SET, Cause.API, detail={"enabled": enabled})

    def appeal_region(self, account_id: str, iccid: str) -> None:
        regions.appeal(self.engine, self._card(account_id, iccid))

    def report_lost(self, account_id: str, iccid: str) -> None:
        lost_swap.report_lost(self.engine, self._card(account_id, iccid))

    def swap(self, account_id: str, iccid: str, new_iccid: str | None = None) -> str:
        problem = iccid_problem(new_iccid) if new_iccid is not None else None
        if problem:
            raise SimError("invalid_iccid", problem, status=422)
        return lost_swap.swap(self.engine, self._card(account_id, iccid), new_iccid).iccid

    def request_cancellation(self, account_id: str, iccid: str, document: str) -> rec.Review:
        """CAN-1/2/3: refused with the reasons, or put under review; returns the review and its due time."""
        card = self._card(account_id, iccid)
        account = self.engine.accounts[account_id]
        cancellation.check(self.engine, card, account, document)
        info = cancellation.submit(self.engine, [card], batch_size=1)[0]
        return rec.Review(info["iccid"], info["review"], to_datetime(info["due"], self.tz))

    def request_refund(self, account_id: str, iccid: str, kind: str, *, payment: int | None = None,
                       to_iccid: str | None = None) -> int:
        """REF-1 ``unused_months`` / ``wrong_top_up`` (with the payment's number), CAN-4 ``balance`` (optionally
        converted ``to_iccid``). Returns the amount (fen)."""
        card = self._card(account_id, iccid)
        if kind == "unused_months":
            return refunds.unused_months(self.engine, card)
        if kind == "wrong_top_up":
            if not isinstance(payment, int) or isinstance(payment, bool):
                raise bad_input("A wrong top-up refund names the payment (its event number).")
            return refunds.wrong_top_up(self.engine, card, payment)
        if kind == "balance":
            target = self._card(account_id, to_iccid) if to_iccid is not None else None
            return refunds.balance_after_cancellation(self.engine, card, target)
        raise bad_input(f"Unknown refund kind {kind!r}; use unused_months, wrong_top_up or balance.")

    # ------------------------------------------------------------------ BATCH-1

    def batch(self, account_id: str, operation: str, data: bytes, filename: str, *,
              document: str | None = None) -> rec.BatchResult:
        """BATCH-1: run ``operation`` on every row of a CSV/.xlsx template; every row is checked (format, check
        digit, ownership, state) and gets its own result; a bad row never spoils the good ones."""
        account = self._account(account_id)
        if operation == "cancel" and not document:
            raise bad_input("A batch cancellation needs the document: the business licence (credit code) of an "
                            "enterprise account or the holder's resident identity number (CAN-2).")
        try:
            rows = read_batch(data, filename, operation)
        except BatchFileError as exc:
            raise SimError("invalid_batch_file", str(exc), status=422) from None
        results: list[rec.BatchRow] = []
        to_cancel: list[tuple[int, Card]] = []
        for row in rows:
            if row.problem:
                results.append(rec.BatchRow(row.row, row.iccid, False, "invalid_row", row.problem))
                continue
            try:
                if operation == "cancel":  # checked now, submitted together below (CAN-2 batch review time)
                    card = self._card(account_id, row.iccid)
                    assert document is not None  # checked above: a batch cancellation names its document
                    cancellation.check(self.engine, card, account, document)
                    to_cancel.append((len(results), card))
                    results.append(rec.BatchRow(row.row, row.iccid, True))
                    continue
                self._batch_row(account_id, operation, row.iccid, row.args)
                results.append(rec.BatchRow(row.row, row.iccid, True))
            except SimError as exc:
                results.append(rec.BatchRow(row.row, row.iccid, False, exc.code, exc.message))
        if to_cancel:
            submitted = cancellation.submit(self.engine, [c for _, c in to_cancel], batch_size=len(to_cancel))
            for (at, _), info in zip(to_cancel, submitted):
                done = results[at]
                results[at] = rec.BatchRow(done.row, done.iccid, True, review=info["review"],
                                           due=to_datetime(info["due"], self.tz))
        return rec.BatchResult(operation, tuple(results))

    def _batch_row(self, account_id: str, operation: str, iccid: str, args: dict[str, Any]) -> None:
        if operation == "change_plan":
            self.change_plan(account_id, iccid, str(args["plan"]))
        elif operation == "top_up":
            self.top_up(account_id, iccid, args["amount"])
        elif operation == "set_auto_renew":
            self.set_auto_renew(account_id, iccid, bool(args["enabled"]))
        elif operation == "activate":
            self.activate(account_id, iccid, args.get("imei"))
        elif operation in ("suspend", "resume", "withdraw_plan_change"):
            getattr(self, operation)(account_id, iccid)
        else:  # pragma: no cover - OPERATIONS and this dispatch are kept in step by a test
            raise bad_input(f"Unknown batch operation {operation!r}; use one of {', '.join(OPERATIONS)}.")

    # ------------------------------------------------------------------ card facts the engine does not keep

    @property
    def facts(self) -> CardFacts:
        """Labels and hourly usage (``card_facts``), created on first use (a snapshot from before has none)."""
        facts = self.__dict__.get("_facts")
        if facts is None:
            facts = self.__dict__["_facts"] = CardFacts()
        return facts

    def set_label(self, account_id: str, iccid: str, key: str, value: str | None = None,
                  unique: bool = False) -> None:
        """Set (None: remove) a label of the owner's card (a carrier API's per-card field: Twilio's unique_name,
        Control Center's custom fields). ``unique``: no other card of the account may carry the same value."""
        card = self._card(account_id, iccid)
        among = [c.iccid for c in self._account(account_id).cards] if unique else None
        self.facts.set(card.iccid, key, value, among)

    def labels(self, iccid: str, account_id: str | None = None) -> dict[str, str]:
        return self.facts.get(self._card(account_id, iccid, command=False).iccid)

    def find_labelled(self, account_id: str, key: str, value: str) -> str | None:
        """The ICCID of the account's card labelled ``key`` = ``value`` (None if there is none)."""
        for iccid in self.facts.find(key, value):
            card = self.engine.by_iccid.get(iccid)
            if card is not None and card.account_id == account_id:
                return iccid
        return None

    def usage_kb(self, iccid: str, start: Instant, end: Instant, account_id: str | None = None) -> int:
        """KB the network carried for the card in the hours starting in [start, end)."""
        return self.facts.usage(self._card(account_id, iccid, command=False).iccid, int(start), int(end))

    # ------------------------------------------------------------------ observations (typed records)

    def card(self, iccid: str, account_id: str | None = None) -> rec.Card:
        return reads.card(self.engine, self._card(account_id, iccid, command=False))

    def cards(self, account_id: str | None = None, *, carrier: str | None = None) -> Iterator[rec.Card]:
        """Every card (of one account, of one carrier), in the order they were opened."""
        source = self.engine.cards if account_id is None else self._account(account_id).cards
        for c in source:
            if carrier is None or c.profile.id == carrier:
                yield reads.card(self.engine, c)

    def account_cards(self, account_id: str, start: int = 0) -> Iterator[tuple[int, rec.Card]]:
        """An account's cards from position ``start`` of its list (which only grows), with their positions."""
        cards = self._account(account_id).cards
        for pos in range(max(start, 0), len(cards)):
            yield pos, reads.card(self.engine, cards[pos])

    def event_count(self) -> int:
        """How many events the world has had: the cursor of the next one."""
        return len(self.engine.events)

    def event_totals(self) -> tuple["collections.Counter[Kind]", "collections.Counter[Kind]"]:
        """How many events of each kind the world has had, and the money moved by each money kind (fen)."""
        log = self.engine.events
        return collections.Counter(log.kind_counts()), collections.Counter(log.money_by_kind())

    def count_cards(self) -> dict[tuple[str, State], int]:
        """How many cards each carrier has in each state (cheap: no records are built)."""
        return dict(collections.Counter((c.profile.id, c.state) for c in self.engine.cards))

    def history(self, iccid: str, account_id: str | None = None) -> list[rec.Event]:
        """LIFE-4: a card's history is its list of events."""
        card = self._card(account_id, iccid, command=False)
        return reads.events(self.engine, self.engine.events.read(self.engine.card_events(card)))

    def history_length(self, iccid: str, account_id: str | None = None) -> int:
        """How many events the card's history holds, without reading them."""
        return len(self.engine.card_events(self._card(account_id, iccid, command=False)))

    def last_changed(self, iccid: str, account_id: str | None = None) -> datetime:
        """When anything last happened to the card: its last event's time (its opening if it has none)."""
        card = self._card(account_id, iccid, command=False)
        seqs = self.engine.card_events(card)
        last = reads.events(self.engine, self.engine.events.read(seqs[-1:])) if seqs else []
        return last[0].time if last else to_datetime(card.opened_at, self.tz)

    def ledger(self, iccid: str, account_id: str | None = None) -> list[rec.LedgerEntry]:
        return reads.ledger(self.engine, self._card(account_id, iccid, command=False))

    def certificate(self, account_id: str, iccid: str) -> rec.Certificate:
        """CAN-4: the cancellation certificate, once the cancellation is done."""
        card = self._card(account_id, iccid, command=False)
        if card.certificate is None:
            raise SimError("certificate_not_found", f"Card {iccid} has no cancellation certificate "
                           "(it is issued when a requested cancellation completes).", status=404)
        c = card.certificate
        return rec.Certificate(c["number"], c["iccid"], c["msisdn"], c["carrier"], c["account"],
                               datetime.fromisoformat(c["cancelled_at"]))

    def plans(self, carrier: str) -> list[Plan]:
        return list(self.engine.carrier(carrier).profile.plans.values())

    def addons(self, carrier: str) -> list[AddOn]:
        return list(self.engine.carrier(carrier).profile.addons.values())

    def carriers(self) -> list[rec.Carrier]:
        return [reads.carrier(self.engine, cs) for cs in self.engine.carriers.values()]

    def account(self, account_id: str) -> rec.Account:
        a = self._account(account_id)
        balance = sum(c.balance for c in a.cards if c.phase != State.CANCELLED)
        return rec.Account(a.id, a.name, a.kind, a.channel, a.verified, balance, len(a.cards))

    def has_account(self, account_id: str) -> bool:
        return account_id in self.engine.accounts

    def pool(self, account_id: str, pool_id: str) -> rec.Pool:
        return reads.pool(self.engine, self._pool(account_id, pool_id))

    def pools(self, account_id: str) -> list[rec.Pool]:
        return [reads.pool(self.engine, p) for p in self.engine.pools.values() if p.account_id == account_id]

    def events_since(self, cursor: int = 0, limit: int = 1000, account_id: str | None = None) -> \
            tuple[list[rec.Event], int]:
        """Events from ``cursor`` on (of one account's cards and pools), at most ``limit``; and the next cursor."""
        log, engine = self.engine.events, self.engine
        if account_id is None:
            end = min(len(log), max(cursor, 0) + limit)
            return reads.events(engine, log.since(cursor, limit)), max(end, cursor)
        out: list[rec.Event] = []
        seq, end = max(cursor, 0), len(log)
        cards, pools = engine.cards, engine.pools
        while seq < end and len(out) < limit:
            idx = log.card[seq]
            if idx >= 0:
                mine = cards[idx].account_id == account_id
            else:
                pool = pools.get((log.detail_of(seq) or {}).get("pool", ""))
                mine = pool is not None and pool.account_id == account_id
            if mine:
                out.append(reads.event(engine, log.get(seq)))
            seq += 1
        return out, seq

    def dump(self) -> dict[str, Any]:
        """The whole observable state, canonical (sorted, JSON-ready): equal dumps mean equal worlds."""
        engine = self.engine
        return {
            "now": self.iso(self.now), "seed": self.seed,
            "accounts": [{"id": a.id, "name": a.name, "kind": a.kind, "channel": a.channel,
                          "cards": [c.iccid for c in a.cards]} for a in engine.accounts.values()],
            "cards": [plain(reads.card(engine, c)) for c in engine.cards],
            "events": [plain(ev) for ev in reads.events(engine, engine.events.since(0))],
            "scheduled": engine.scheduler.pending(),
        }

    def digest(self) -> str:
        """SHA-256 of the canonical dump."""
        text = json.dumps(self.dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def plain(value: Any) -> Any:
    """A record as JSON-ready data: datetimes as ISO text, enums by name, reason sets as lists (for dumps)."""
    if isinstance(value, rec.Reasons):
        return value.names()
    if isinstance(value, (State, Kind, Cause)):
        return value.label
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
