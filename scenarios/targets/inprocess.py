"""The simulator in this process: the fastest target, and the reference the HTTP target must agree with.

Answers have the native HTTP API's shapes (``simulator.http.views``; writes through ``simulator.http.answers``),
so a scenario reads the same fields whichever target it runs on; operations dispatch through the operation
table (``simulator.operations``). ``SimError`` becomes :class:`~scenarios.target.Refused` with the same code.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Iterable, TypeVar

from carriersim.simulator.errors import SimError
from carriersim.simulator.http import views
from carriersim.simulator.http.answers import answer
from carriersim.simulator.operations import invoke
from carriersim.simulator.profile import CarrierProfile, builtin_profiles
from carriersim.simulator.simulation import Simulation

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
        return views.usage_result(self.sim.report_usage(iccid, kb=kb, region=region, imei=imei))

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
        return self.sim.carrier_ids()

    @refusals
    def profile(self, carrier: str) -> dict[str, Any]:
        return self.sim.profile(carrier).raw

    @refusals
    def plans(self, carrier: str) -> list[dict[str, Any]]:
        return [views.plan(p) for p in self.sim.plans(carrier)]

    @refusals
    def addons(self, carrier: str) -> list[dict[str, Any]]:
        return [views.addon(a) for a in self.sim.addons(carrier)]

    # ---------------------------------------------------------------- operations
    @refusals
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str:
        return self.sim.create_account(name, kind=kind, verified=verified, id_number=id_number)

    @refusals
    def call(self, operation: str, account: str, args: dict[str, Any]) -> Any:
        """Any platform operation of the operation table, answered in the native API's shape."""
        body = answer(self.sim, operation, account, args, invoke(self.sim, operation, account, args))
        return body[1] if isinstance(body, tuple) else body

    @refusals
    def batch(self, account: str, operation: str, csv: bytes, *, document: str | None = None) -> dict[str, Any]:
        return views.batch(self.sim.batch(account, operation, csv, "batch.csv", document=document))

    # ---------------------------------------------------------------- observations
    @refusals
    def card(self, account: str, iccid: str) -> dict[str, Any]:
        return views.card(self.sim.card(iccid, account))

    @refusals
    def history(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return [views.event(e) for e in self.sim.history(iccid, account)]

    @refusals
    def history_length(self, account: str, iccid: str) -> int:
        """How many events the card's history holds (what "events since the last step" counts from)."""
        return self.sim.history_length(iccid, account)

    @refusals
    def ledger(self, account: str, iccid: str) -> list[dict[str, Any]]:
        return [views.ledger_entry(e) for e in self.sim.ledger(iccid, account)]

    @refusals
    def certificate(self, account: str, iccid: str) -> dict[str, Any]:
        return views.certificate(self.sim.certificate(account, iccid))

    @refusals
    def pool(self, account: str, pool: str) -> dict[str, Any]:
        return views.pool(self.sim.pool(account, pool))

    def close(self) -> None:
        pass
