"""The simulator in this process: the fastest target, and the reference the HTTP target must agree with.

Answers have the native HTTP API's shapes (``simulator.views``), so a scenario reads the same fields whichever
target it runs on. ``SimError`` becomes :class:`~scenarios.target.Refused` with the same code.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Iterable, TypeVar

from carriersim.simulator.errors import SimError
from carriersim.simulator.money import to_cny
from carriersim.simulator.profile import CarrierProfile, builtin_profiles
from carriersim.simulator.simulation import Simulation
from carriersim.simulator.views import pool_view

from ..target import CAPABILITIES, Refused

F = TypeVar("F", bound=Callable[..., Any])


def refusals(fn: F) -> F:
    @wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SimError as exc:
            raise Refused(exc.code, exc.message, exc.status) from None
    return call  # type: ignore[return-value]


class InProcessTarget:
    """A fresh ``Simulation`` per :meth:`reset`. ``simulation_factory`` lets a caller (the mutants of the
    conformance suite, a user's own subclass) put another ``Simulation`` under test."""

    name = "inprocess"
    capabilities = frozenset(CAPABILITIES)

    def __init__(self, profiles: Iterable[CarrierProfile] | None = None,
                 simulation_factory: Callable[..., Simulation] = Simulation) -> None:
        self._profiles = list(profiles) if profiles is not None else builtin_profiles()
        self._factory = simulation_factory
        self.sim: Simulation = simulation_factory(profiles=self._profiles)

    # ---------------------------------------------------------------- test control
    @refusals
    def reset(self, *, start: str, seed: int) -> None:
        self.sim = self._factory(seed=seed, start=start, profiles=self._profiles)

    def now(self) -> str:
        return self.sim.iso(self.sim.now)

    @refusals
    def advance(self, to: str) -> None:
        self.sim.advance(to=to)

    @refusals
    def report_usage(self, iccid: str, *, kb: int, region: str | None = None,
                     imei: str | None = None) -> dict[str, Any]:
        result = self.sim.report_usage(iccid, kb=kb, region=region, imei=imei)
        return {"iccid": result.iccid, "accepted_kb": result.accepted_kb, "refused_kb": result.refused_kb,
                "refused_because": result.refused_because, "state": result.state, "reasons": result.reasons}

    @refusals
    def start_maintenance(self, carrier: str, *, until: str, stop_cards: bool = True) -> None:
        self.sim.start_maintenance(carrier, until=until, stop_cards=stop_cards)

    @refusals
    def end_maintenance(self, carrier: str) -> None:
        self.sim.end_maintenance(carrier)

    @refusals
    def carrier_bar(self, iccid: str, note: str = "") -> None:
        self.sim.carrier_bar(iccid, note)

    @refusals
    def carrier_release(self, iccid: str) -> None:
        self.sim.carrier_release(iccid)

    # ---------------------------------------------------------------- catalogue
    def carriers(self) -> list[str]:
        return list(self.sim.carriers)

    @refusals
    def profile(self, carrier: str) -> dict[str, Any]:
        return self.sim.carrier(carrier).profile.raw

    @refusals
    def plans(self, carrier: str) -> list[dict[str, Any]]:
        return self.sim.plans(carrier)

    @refusals
    def addons(self, carrier: str) -> list[dict[str, Any]]:
        return [{"code": a.code, "name": a.name, "quota_mb": a.quota_kb // 1024, "price": to_cny(a.price)}
                for a in self.sim.carrier(carrier).profile.addons.values()]

    # ---------------------------------------------------------------- operations
    @refusals
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str:
        return self.sim.create_account(name, kind=kind, verified=verified, id_number=id_number)

    @refusals
    def open_card(self, account: str, carrier: str, plan: str, *, payment: str | None = None,
                  auto_suspend: bool = True, auto_renew: bool = True, testing: bool = False) -> str:
        return self.sim.open_card(account, carrier, plan, payment=payment, auto_suspend=auto_suspend,
                                  auto_renew=auto_renew, testing=testing)

    @refusals
    def activate(self, account: str, iccid: str, imei: str | None = None) -> None:
        self.sim.activate(account, iccid, imei)

    @refusals
    def change_plan(self, account: str, iccid: str, plan: str) -> str:
        return self.sim.change_plan(account, iccid, plan)

    @refusals
    def withdraw_plan_change(self, account: str, iccid: str) -> None:
        self.sim.withdraw_plan_change(account, iccid)

    @refusals
    def top_up(self, account: str, iccid: str, amount: str) -> dict[str, Any]:
        return {"payment": self.sim.top_up(account, iccid, amount), "card": self.sim.card(iccid, account)}

    @refusals
    def buy_addon(self, account: str, iccid: str, addon: str) -> None:
        self.sim.buy_addon(account, iccid, addon)

    @refusals
    def renew(self, account: str, iccid: str) -> dict[str, Any]:
        return {"result": self.sim.renew(account, iccid), "card": self.sim.card(iccid, account)}

    @refusals
    def reactivate(self, account: str, iccid: str) -> None:
        self.sim.reactivate(account, iccid)

    @refusals
    def suspend(self, account: str, iccid: str) -> None:
        self.sim.suspend(account, iccid)

    @refusals
    def resume(self, account: str, iccid: str) -> None:
        self.sim.resume(account, iccid)

    @refusals
    def verify_identity(self, account: str, iccid: str, name: str, id_number: str) -> None:
        self.sim.verify_identity(account, iccid, name, id_number)

    @refusals
    def rebind_device(self, account: str, iccid: str, imei: str) -> None:
        self.sim.rebind_device(account, iccid, imei)

    @refusals
    def unbind_device(self, account: str, iccid: str) -> None:
        self.sim.unbind_device(account, iccid)

    @refusals
    def set_auto_renew(self, account: str, iccid: str, enabled: bool) -> None:
        self.sim.set_auto_renew(account, iccid, enabled)

    @refusals
    def appeal_region(self, account: str, iccid: str) -> None:
        self.sim.appeal_region(account, iccid)

    @refusals
    def report_lost(self, account: str, iccid: str) -> None:
        self.sim.report_lost(account, iccid)

    @refusals
    def swap(self, account: str, iccid: str) -> str:
        return self.sim.swap(account, iccid)

    @refusals
    def request_cancellation(self, account: str, iccid: str, document: str) -> dict[str, Any]:
        return self.sim.request_cancellation(account, iccid, document)

    @refusals
    def request_refund(self, account: str, iccid: str, kind: str, *, payment: int | None = None,
                       to_iccid: str | None = None) -> dict[str, Any]:
        amount = self.sim.request_refund(account, iccid, kind, payment=payment, to_iccid=to_iccid)
        return {"amount": amount, "card": self.sim.card(iccid, account)}

    @refusals
    def batch(self, account: str, operation: str, csv: bytes, *, document: str | None = None) -> dict[str, Any]:
        return self.sim.batch(account, operation, csv, "batch.csv", document=document)

    @refusals
    def create_pool(self, account: str, carrier: str, name: str) -> str:
        return self.sim.create_pool(account, carrier, name)

    @refusals
    def add_to_pool(self, account: str, pool: str, iccid: str) -> None:
        self.sim.add_to_pool(account, pool, iccid)

    # ---------------------------------------------------------------- observations
    @refusals
    def card(self, account: str, iccid: str) -> dict[str, Any]:
        return self.sim.card(iccid, account)

    @refusals
    def history(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return self.sim.history(iccid, account)

    @refusals
    def ledger(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return self.sim.ledger(iccid, account)

    @refusals
    def certificate(self, account: str, iccid: str) -> dict[str, Any]:
        return self.sim.certificate(account, iccid)

    @refusals
    def pool(self, account: str, pool: str) -> dict[str, Any]:
        return pool_view(self.sim, self.sim._pool(account, pool))

    def close(self) -> None:
        pass
