"""``Simulation``: the engine's public operations as a plain Python API.

Each operation validates its input, looks the card up *as the calling account* (PLAN-3: another account's card is
indistinguishable from a card that does not exist), refuses with ``SimError`` before changing anything, and hands
over to the rule module that owns the behaviour. Reads return plain dicts (``simulator.views``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from .batch_files import OPERATIONS, BatchFileError, read_batch
from .clock import JobKind
from .engine import DEFAULT_START, DEFAULT_TIMEZONE, Engine
from .errors import SimError, bad_input, not_found
from .events import Kind
from .identifiers import iccid_problem, imei_problem
from .model import Account, Card, Cause, Pool, State, reason_names
from .money import to_cny, to_fen
from .profile import CarrierProfile, load_profile
from .rules import (billing, cancellation, carrier_control, cycle, device_binding, lifecycle, lost_swap, maintenance, manual_stop,
                    plan_change, quota, real_name, refunds, regions, retention, usage)
from .rules.usage import UsageResult
from .views import card_view, event_view, ledger_view, plan_view


class Simulation(Engine):
    """A deterministic world of carriers, accounts and cards on a virtual clock (frozen until ``advance``)."""

    def __init__(self, *, seed: int = 0, start: object = DEFAULT_START,
                 profiles: Iterable[CarrierProfile | str] | None = None, timezone: str = DEFAULT_TIMEZONE) -> None:
        loaded = None if profiles is None else [p if isinstance(p, CarrierProfile) else load_profile(p)
                                                for p in profiles]
        super().__init__(seed=seed, start=start, profiles=loaded, timezone=timezone)
        # module-level functions, not closures: a Simulation pickles whole for snapshots
        self.on(JobKind.CYCLE_START, cycle.on_cycle_start)
        self.on(JobKind.RETENTION_LIMIT, retention.on_limit)
        self.on(JobKind.KYC_DEADLINE, real_name.on_deadline)
        self.on(JobKind.REVIEW_DONE, cancellation.on_review_done)
        self.on(JobKind.UNUSED_CHECK, cancellation.on_unused_check)
        self.on(JobKind.MAINTENANCE_END, maintenance.on_end)

    # ------------------------------------------------------------------ lookups

    def _account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise not_found("account", account_id)
        return account

    def _card(self, account_id: str | None, iccid: str, *, command: bool = True) -> Card:
        """The card as ``account_id`` may see it (None: the simulator's own view, for world actions and tests).
        PLAN-3: only the channel that sold a card serves it; to anyone else it does not exist."""
        card = self.by_iccid.get(iccid) if isinstance(iccid, str) else None
        if card is None:  # only an unknown ICCID needs the format check (a known one is valid by construction)
            if not isinstance(iccid, str):
                raise bad_input(f"An ICCID must be a string of digits, got {iccid!r}.")
            problem = iccid_problem(iccid)
            if problem:
                raise SimError("invalid_iccid", problem, status=422, iccid=iccid)
        if card is None or (account_id is not None and card.account_id != account_id):
            raise not_found("card", iccid)
        if account_id is not None:  # MAINT-1: a read is refused too where the profile says so
            maintenance.gate(self, self.carriers[card.profile.id], read=not command)
        return card

    def _plan(self, card_or_carrier: Card | str, code: str) -> Any:
        carrier = card_or_carrier if isinstance(card_or_carrier, str) else card_or_carrier.profile.id
        plan = self.carrier(carrier).profile.plans.get(code)
        if plan is None:
            raise SimError("plan_not_found", f"{carrier} has no plan {code!r}; its plans: "
                           f"{', '.join(self.carriers[carrier].profile.plans)}.", status=404)
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
        account_id = account_id or f"acc-{len(self.accounts) + 1:04d}"
        if account_id in self.accounts:
            raise SimError("account_exists", f"Account {account_id!r} already exists.")
        self.accounts[account_id] = Account(account_id, str(name).strip(), kind, channel, verified, id_number)
        return account_id

    def add_inventory(self, carrier: str, count: int = 1) -> list[str]:
        """LIFE-1 ``inventory``: unsold cards in the carrier's stock."""
        if not 1 <= count <= 100_000:
            raise bad_input("count must be between 1 and 100000.")
        return [c.iccid for c in lifecycle.add_inventory(self, carrier, count)]

    def open_card(self, account_id: str, carrier: str, plan: str, *, payment: object = None,
                  auto_suspend: bool = True, auto_renew: bool = True, testing: bool = False,
                  iccid: str | None = None) -> str:
        """Sell a card with a paid plan (BILL-1). ``payment`` (CNY) defaults to the plan's price."""
        account = self._account(account_id)
        maintenance.gate(self, self.carrier(carrier))
        p = self._plan(carrier, plan)
        amount = p.price if payment is None else to_fen(payment, what="payment")
        if amount < 0:
            raise bad_input("A payment cannot be negative.")
        if iccid is not None and iccid_problem(iccid):
            raise SimError("invalid_iccid", iccid_problem(iccid), status=422)
        return lifecycle.open_card(self, account, carrier, p, payment=amount, auto_suspend=bool(auto_suspend),
                                   auto_renew=bool(auto_renew), testing=bool(testing), iccid=iccid).iccid

    def activate(self, account_id: str, iccid: str, imei: str | None = None) -> None:
        card = self._card(account_id, iccid)
        lifecycle.activate(self, card, None if imei is None else self._imei(imei))

    def create_pool(self, account_id: str, carrier: str, name: str = "pool") -> str:
        self._account(account_id)
        return quota.create_pool(self, account_id, carrier, name).id

    def _pool(self, account_id: str, pool_id: str) -> Pool:
        pool = self.pools.get(pool_id)
        if pool is None or pool.account_id != account_id:
            raise not_found("pool", pool_id)
        return pool

    def add_to_pool(self, account_id: str, pool_id: str, iccid: str) -> None:
        quota.add_to_pool(self, self._pool(account_id, pool_id), self._card(account_id, iccid))

    # ------------------------------------------------------------------ world actions (the network, test control)

    def report_usage(self, iccid: str, *, mb: object = None, kb: int | None = None, region: str | None = None,
                     imei: str | None = None) -> UsageResult:
        """Traffic seen by the network for a card, from a region and a device (either may be omitted)."""
        if mb is not None and kb is not None:
            raise bad_input("Give the amount of data as mb= or kb=, not both.")
        if mb is not None:
            try:
                value = float(mb)
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
        accepted, why = usage.report(self, card, amount, code, device)
        return UsageResult(card.iccid, accepted, amount - accepted, why, card.state.label, reason_names(card.reasons))

    def start_maintenance(self, carrier: str, *, until: object = None, duration: object = None,
                          stop_cards: bool = True) -> None:
        """MAINT-1: open a maintenance window (test control)."""
        maintenance.start(self, self.carrier(carrier), self.resolve_target(until, duration), stop_cards)

    def end_maintenance(self, carrier: str) -> None:
        maintenance.end(self, self.carrier(carrier))

    def carrier_bar(self, iccid: str, note: str = "") -> None:
        """LIFE-2 ``carrier`` (运营商管控): the carrier stops a card on its own authority (test control)."""
        carrier_control.bar(self, self._card(None, iccid), note)

    def carrier_release(self, iccid: str) -> None:
        carrier_control.release(self, self._card(None, iccid))

    # ------------------------------------------------------------------ platform actions

    def top_up(self, account_id: str, iccid: str, amount: object) -> int:
        """A payment into the card's balance; returns the payment's event number (for REF-1)."""
        return billing.top_up(self, self._card(account_id, iccid), to_fen(amount))

    def reactivate(self, account_id: str, iccid: str) -> None:
        billing.reactivate(self, self._card(account_id, iccid))

    def buy_addon(self, account_id: str, iccid: str, addon: str) -> None:
        card = self._card(account_id, iccid)
        pack = card.profile.addons.get(addon)
        if pack is None:
            raise SimError("addon_not_found", f"{card.profile.id} has no add-on {addon!r}; its add-ons: "
                           f"{', '.join(card.profile.addons)}.", status=404)
        quota.buy_addon(self, card, pack)

    def renew(self, account_id: str, iccid: str) -> str:
        return retention.renew(self, self._card(account_id, iccid))

    def change_plan(self, account_id: str, iccid: str, plan: str) -> str:
        """PLAN-1: returns when the change takes effect (ISO time: the next cycle start)."""
        card = self._card(account_id, iccid)
        return self.iso(plan_change.request(self, card, self._plan(card, plan)))

    def withdraw_plan_change(self, account_id: str, iccid: str) -> None:
        plan_change.withdraw(self, self._card(account_id, iccid))

    def suspend(self, account_id: str, iccid: str) -> None:
        manual_stop.suspend(self, self._card(account_id, iccid))

    def resume(self, account_id: str, iccid: str) -> None:
        manual_stop.resume(self, self._card(account_id, iccid))

    def verify_identity(self, account_id: str, iccid: str, name: str, id_number: str) -> None:
        card = self._card(account_id, iccid)
        real_name.verify(self, card, self.accounts[card.account_id], name, id_number)

    def rebind_device(self, account_id: str, iccid: str, imei: str) -> None:
        device_binding.rebind(self, self._card(account_id, iccid), self._imei(imei))

    def unbind_device(self, account_id: str, iccid: str) -> None:
        device_binding.unbind(self, self._card(account_id, iccid))

    def set_auto_renew(self, account_id: str, iccid: str, enabled: bool) -> None:
        card = self._card(account_id, iccid)
        billing.require_not_cancelled(card)
        if not isinstance(enabled, bool):
            raise bad_input(f"enabled must be true or false, got {enabled!r}.")
        if card.auto_renew != enabled:
            card.auto_renew = enabled
            self.emit(card, Kind.AUTO_RENEW_SET, Cause.API, detail={"enabled": enabled})

    def appeal_region(self, account_id: str, iccid: str) -> None:
        regions.appeal(self, self._card(account_id, iccid))

    def report_lost(self, account_id: str, iccid: str) -> None:
        lost_swap.report_lost(self, self._card(account_id, iccid))

    def swap(self, account_id: str, iccid: str, new_iccid: str | None = None) -> str:
        if new_iccid is not None and iccid_problem(new_iccid):
            raise SimError("invalid_iccid", iccid_problem(new_iccid), status=422)
        return lost_swap.swap(self, self._card(account_id, iccid), new_iccid).iccid

    def request_cancellation(self, account_id: str, iccid: str, document: str) -> dict[str, Any]:
        """CAN-1/2/3: refused with the reasons, or put under review; returns the review and its due time."""
        card = self._card(account_id, iccid)
        account = self.accounts[account_id]
        cancellation.check(self, card, account, document)
        return cancellation.submit(self, [card], batch_size=1)[0]

    def request_refund(self, account_id: str, iccid: str, kind: str, *, payment: int | None = None,
                       to_iccid: str | None = None) -> str:
        """REF-1 ``unused_months`` / ``wrong_top_up`` (with the payment's number), CAN-4 ``balance`` (optionally
        converted ``to_iccid``). Returns the amount (CNY)."""
        card = self._card(account_id, iccid)
        if kind == "unused_months":
            return to_cny(refunds.unused_months(self, card))
        if kind == "wrong_top_up":
            if not isinstance(payment, int) or isinstance(payment, bool):
                raise bad_input("A wrong top-up refund names the payment (its event number).")
            return to_cny(refunds.wrong_top_up(self, card, payment))
        if kind == "balance":
            target = self._card(account_id, to_iccid) if to_iccid is not None else None
            return to_cny(refunds.balance_after_cancellation(self, card, target))
        raise bad_input(f"Unknown refund kind {kind!r}; use unused_months, wrong_top_up or balance.")

    # ------------------------------------------------------------------ BATCH-1

    def batch(self, account_id: str, operation: str, data: bytes, filename: str, *,
              document: str | None = None) -> dict[str, Any]:
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
        results: list[dict[str, Any]] = []
        to_cancel: list[tuple[dict[str, Any], Card]] = []
        for row in rows:
            result: dict[str, Any] = {"row": row.row, "iccid": row.iccid, "ok": False}
            results.append(result)
            if row.problem:
                result.update(code="invalid_row", message=row.problem)
                continue
            try:
                if operation == "cancel":  # checked now, submitted together below (CAN-2 batch review time)
                    card = self._card(account_id, row.iccid)
                    cancellation.check(self, card, account, document)
                    to_cancel.append((result, card))
                    continue
                self._batch_row(account_id, operation, row.iccid, row.args)
                result["ok"] = True
            except SimError as exc:
                result.update(code=exc.code, message=exc.message)
        if to_cancel:
            submitted = cancellation.submit(self, [c for _, c in to_cancel], batch_size=len(to_cancel))
            for (result, _), info in zip(to_cancel, submitted):
                result.update(ok=True, review=info["review"], due=info["due"])
        ok = sum(1 for r in results if r["ok"])
        return {"operation": operation, "rows": results, "succeeded": ok, "failed": len(results) - ok}

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

    # ------------------------------------------------------------------ observations

    def card(self, iccid: str, account_id: str | None = None) -> dict[str, Any]:
        return card_view(self, self._card(account_id, iccid, command=False))

    def history(self, iccid: str, account_id: str | None = None) -> list[dict[str, Any]]:
        """LIFE-4: a card's history is its list of events."""
        card = self._card(account_id, iccid, command=False)
        return [event_view(self, ev) for ev in self.events.read(card.events)]

    def ledger(self, iccid: str, account_id: str | None = None) -> list[dict[str, Any]]:
        return ledger_view(self, self._card(account_id, iccid, command=False))

    def certificate(self, account_id: str, iccid: str) -> dict[str, Any]:
        """CAN-4: the cancellation certificate, once the cancellation is done."""
        card = self._card(account_id, iccid, command=False)
        if card.certificate is None:
            raise SimError("certificate_not_found", f"Card {iccid} has no cancellation certificate "
                           "(it is issued when a requested cancellation completes).", status=404)
        return dict(card.certificate)

    def plans(self, carrier: str) -> list[dict[str, Any]]:
        return [plan_view(p) for p in self.carrier(carrier).profile.plans.values()]

    def events_since(self, cursor: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return [event_view(self, ev) for ev in self.events.since(cursor, limit)]

    def account_balance(self, account_id: str) -> str:
        """An account's balance: the sum of its cards' prepaid balances."""
        return to_cny(sum(c.balance for c in self._account(account_id).cards if c.phase != State.CANCELLED))

    def dump(self) -> dict[str, Any]:
        """The whole observable state, canonical (sorted, JSON-ready): equal dumps mean equal worlds."""
        return {
            "now": self.iso(self.now), "seed": self.seed,
            "accounts": [{"id": a.id, "name": a.name, "kind": a.kind, "channel": a.channel,
                          "cards": [c.iccid for c in a.cards]} for a in self.accounts.values()],
            "cards": [card_view(self, c) for c in self.cards],
            "events": [event_view(self, ev) for ev in self.events.since(0)],
            "scheduled": self.scheduler.pending(),
        }

    def digest(self) -> str:
        """SHA-256 of the canonical dump."""
        text = json.dumps(self.dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
