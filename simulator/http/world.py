"""A served world as one receiver of the operation table: the engine's operations, plus the world actions that
belong to the server (API keys, webhooks, faults, batch jobs, the clock's mode, reset).

Every API (native ``/v1``, test control ``/_sim``, a carrier dialect) runs its operations through
``operations.invoke(ServerWorld(state), …)``, and the journal replays its entries the same way, so a write made
through any API replays identically after a restart. Engine operations are the ``Simulation``'s own; the methods
below add what a server must do around them (issue a key with an account, register a job with a batch, keep the
accelerated clock in step with an advance).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from ..errors import SimError
from ..fleet import FleetSpec, generate
from ..simulation import Simulation
from ..timeutil import parse_instant
from .rewind_advice import clock_backwards
from .tenancy import KeyRing

if TYPE_CHECKING:
    from .app import ServerState
    from .faults import Fault
    from .webhooks import Subscription

# The engine's calendar arithmetic runs on datetimes (years 1 to 9999), and terms, retention and reviews schedule
# jobs up to a year and more past the clock: a clock near either end would fail half-way through an advance (a 500
# after part of the world had moved). Test control keeps the clock well inside that range.
EARLIEST = int(datetime(1900, 1, 1, tzinfo=timezone.utc).timestamp())
LATEST = int(datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp())


def bounded_instant(what: str, resolve: Callable[[], int], *, earliest: int | None = EARLIEST) -> int:
    """Resolve a time or duration from a request, refusing (422) what the calendar cannot represent."""
    try:
        instant = resolve()
    except (ValueError, OverflowError) as exc:  # SimError (bad text) passes through unchanged
        raise SimError("invalid_input", f"The {what} is out of range: {exc}.", status=422) from None
    if instant >= LATEST or (earliest is not None and instant < earliest):
        raise SimError("invalid_input", f"The {what} must lie between 1900-01-01 and 9000-01-01 (UTC).",
                       status=422)
    return instant


class ServerWorld:
    """The operation table's receiver on a server: ``state.sim`` for engine operations, itself for the rest."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state

    def __getattr__(self, name: str) -> Any:  # engine operations: the simulation's own methods
        return getattr(self.state.sim, name)

    # ------------------------------------------------------------------ the clock
    def advance(self, to: object = None, by: object = None) -> Any:
        """Answers once every job due on the way has run: the world has settled at the target time."""
        clock, sim = self.state.clock, self.state.sim
        clock.tick()
        # no lower bound here: a target in the past is clock_backwards (409), whatever its year
        target = bounded_instant("target time", lambda: sim.resolve_target(to, by), earliest=None)
        if target < sim.now:  # clock_backwards, with the way back this server offers (with or without --db)
            raise clock_backwards(sim, target, durable=self.state.durability is not None)
        result = sim.advance(to=target)
        clock.reanchor()
        return result

    def set_clock_mode(self, mode: str, rate: float | None = None) -> None:
        self.state.clock.set_mode(mode, rate)

    def start_maintenance(self, carrier: str, until: object = None, duration: object = None,
                          stop_cards: bool = True) -> None:
        sim = self.state.sim
        sim.profile(carrier)  # an unknown carrier is 404 before anything about the window
        end = bounded_instant("end of the window", lambda: sim.resolve_target(until, duration), earliest=None)
        sim.start_maintenance(carrier, until=end, stop_cards=stop_cards)

    # ------------------------------------------------------------------ accounts and keys
    def create_account(self, name: str, kind: str = "enterprise", channel: str = "direct", verified: bool = False,
                       id_number: str | None = None) -> tuple[str, str]:
        """An account and its first API key."""
        account = self.state.sim.create_account(name, kind=kind, channel=channel, verified=verified,
                                                id_number=id_number)
        return account, self.state.keys.issue(account)

    def create_api_key(self, account_id: str) -> str:
        if not self.state.sim.has_account(account_id):
            raise SimError("account_not_found", f"No account {account_id!r} was found.", status=404)
        return self.state.keys.issue(account_id)

    def generate_fleet(self, cards: int, accounts: int | None = None, seed: int | None = None) -> dict[str, Any]:
        sim = self.state.sim
        spec = FleetSpec(accounts=accounts if accounts is not None else max(1, cards // 50), cards=cards,
                         seed=seed if seed is not None else sim.seed)
        built = generate(sim, spec)
        return {"accounts": [{"account": a, "api_key": self.state.keys.issue(a)} for a in built.accounts],
                "cards": len(built.cards)}

    # ------------------------------------------------------------------ batch jobs, webhooks, faults
    def batch(self, account_id: str, operation: str, data: bytes, filename: str,
              document: str | None = None) -> dict[str, Any]:
        from .views import batch as batch_view

        result = self.state.sim.batch(account_id, operation, data, filename, document=document)
        jobs = self.state.batch_jobs
        job = {"id": f"job-{len(jobs) + 1:05d}", "status": "completed", "account": account_id,
               **batch_view(result)}
        jobs[job["id"]] = job
        return job

    def create_webhook(self, account_id: str, url: str) -> "Subscription":
        return self.state.webhooks.register(account_id, url)

    def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        if not self.state.webhooks.remove(account_id, webhook_id):
            raise SimError("webhook_not_found", f"No webhook {webhook_id!r} was found.", status=404)

    def create_fault(self, route: str, **spec: Any) -> "Fault":
        return self.state.faults.add({"route": route, **spec})

    def clear_faults(self) -> None:
        self.state.faults.clear()

    # ------------------------------------------------------------------ a new world
    def reset(self, seed: int | None = None, start: object = None) -> None:
        """A new, empty world: accounts, keys, cards, webhooks, idempotency records and faults are gone."""
        state, old = self.state, self.state.sim
        when = old.now if start is None else bounded_instant("start time", lambda: parse_instant(start, old.tz))
        sim = Simulation(seed=old.seed if seed is None else seed, start=when, timezone=str(old.tz),
                         profiles=[old.profile(c) for c in old.carrier_ids()])
        state.sim = sim
        # the old world's keys open nothing in the new one; a named world's keys keep naming it
        state.keys = KeyRing(sim.seed, state.keys.generation + 1, getattr(state.keys, "world", None))
        state.idempotency.clear()
        state.faults.clear()
        state.batch_jobs.clear()
        for sub_id in list(state.webhooks.subs):
            state.webhooks.remove(state.webhooks.subs[sub_id].account_id, sub_id)
        state.clock.reanchor()
