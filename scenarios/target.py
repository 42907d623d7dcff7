"""The ``Target`` protocol: everything the scenario runner needs from an implementation under test.

A target is one SIM-management implementation seen from outside: the simulator in this process, a server speaking
the native HTTP API, or anything an adapter wraps. The runner only ever talks to a target through these methods,
so a scenario runs unchanged on all of them.

Three parts:

* **Operations** — what a platform does to a card (open, change plan, top up, suspend, cancel …): the platform
  operations of the operation table (``carriersim.simulator.operations``), run through :meth:`Target.call` by
  name. A refusal is raised as :class:`Refused` carrying the implementation's stable error code
  (``insufficient_balance``, ``plan_change_not_allowed`` …).
* **Observations** — what the runner reads to judge: the card (in the native API's ``Card`` shape, see
  ``/openapi.json``), its history (``Event`` items), its ledger, the events feed, the plan catalogue and the carrier
  profile's parameters.
* **Test control** — what no real carrier offers: a fresh world at a chosen start time, moving the clock, reporting
  network usage from a region and a device, maintenance windows, carrier holds.

``capabilities`` says which optional parts a target has (see :data:`CAPABILITIES`). A scenario that needs a
capability the target lacks is reported *not applicable*, never failed.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

from carriersim.simulator.operations import operation as OPERATION

#: Every capability a scenario may need, and what it means. The runner infers a scenario's needs from its steps.
CAPABILITIES: dict[str, str] = {
    "time_travel": "move the clock forward on demand (advance); without it no cycle, expiry or review is testable",
    "usage": "report data usage seen by the network, with a region and a device IMEI",
    "history": "read a card's events (LIFE-4) and the events feed",
    "ledger": "read a card's charges, payments and refunds",
    "pools": "shared data pools (POOL-1)",
    "batch": "batch operations from a CSV template (BATCH-1)",
    "maintenance": "open and close a carrier maintenance window (MAINT-1)",
    "carrier_control": "the carrier stops and releases a card on its own authority (LIFE-2 carrier)",
    "real_name": "real-name verification (KYC-1)",
    "device_binding": "device binding and re-binding (BIND-1)",
    "regions": "restricted regions and appeals (REG-1)",
    "lost_swap": "loss reports and card replacement (LOST-1, SWAP-1)",
    "cancellation": "cancellation requests, review, certificates (CAN-1..5)",
    "refunds": "refund requests (REF-1, CAN-4)",
    "accounts": "several accounts (channels) with their own cards (PLAN-3)",
    "testing_state": "cards opened in the testing state (LIFE-1)",
    "messages": "refusal sentences worded like carriersim's; without it a scenario checks refusal codes only",
}

#: What a scenario naming a rule needs, whatever its steps: a target without the feature cannot be judged on it.
RULE_CAPABILITIES: dict[str, str] = {
    "POOL-1": "pools", "KYC-1": "real_name", "BIND-1": "device_binding", "REG-1": "regions",
    "MAINT-1": "maintenance", "LOST-1": "lost_swap", "SWAP-1": "lost_swap", "CAN-1": "cancellation",
    "CAN-2": "cancellation", "CAN-3": "cancellation", "CAN-4": "cancellation", "CAN-5": "cancellation",
    "BATCH-1": "batch", "REF-1": "refunds",
}


class Refused(Exception):
    """An operation the implementation refused: ``code`` is its stable machine code, ``message`` its sentence."""

    def __init__(self, code: str, message: str = "", status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status


class TargetError(Exception):
    """The target itself failed (unreachable, answered something unreadable): the run is an *error*, not a
    scenario failure."""


@runtime_checkable
class Target(Protocol):
    """What an implementation under test offers the runner. ``account`` arguments are the handles returned by
    :meth:`create_account`; ``iccid`` arguments are the ICCIDs returned by :meth:`open_card` and :meth:`swap`."""

    name: str
    capabilities: frozenset[str]

    # ---------------------------------------------------------------- test control
    def reset(self, *, start: str, seed: int) -> None:
        """Start a new, empty, isolated world whose clock reads ``start`` (ISO-8601, carrier-local)."""

    def now(self) -> str:
        """The simulated time, ISO-8601 with offset."""

    def advance(self, to: str) -> None:
        """Move the clock to ``to`` (ISO-8601), running everything that falls due on the way."""

    def report_usage(self, iccid: str, *, kb: int, region: str | None = None,
                     imei: str | None = None) -> dict[str, Any]:
        """Traffic seen by the network; answers ``{"accepted_kb", "refused_kb", "refused_because", "state",
        "reasons"}``."""

    def start_maintenance(self, carrier: str, *, until: str, stop_cards: bool = True) -> None: ...
    def end_maintenance(self, carrier: str) -> None: ...
    def carrier_bar(self, iccid: str, note: str = "") -> None: ...
    def carrier_release(self, iccid: str) -> None: ...

    # ---------------------------------------------------------------- catalogue
    def carriers(self) -> list[str]:
        """The carrier ids this target serves (``cmcc``, ``cucc``, ``ctcc`` …)."""

    def profile(self, carrier: str) -> dict[str, Any]:
        """The carrier profile's parameters (the shape of ``simulator/profiles/*.yaml``), for ``${profile.…}``."""

    def plans(self, carrier: str) -> list[dict[str, Any]]:
        """The plan catalogue (native ``Plan`` items: code, term, quota_mb, quota_scope, price …)."""

    def addons(self, carrier: str) -> list[dict[str, Any]]:
        """The add-on packs (native ``AddOn`` items: code, quota_mb, price)."""

    # ---------------------------------------------------------------- operations
    # Platform operations of the operation table (``carriersim.simulator.operations``: ``open_card``,
    # ``change_plan``, ``top_up``, ``suspend`` …) are run by :func:`perform`: through a generic
    # ``call(operation, account, args)`` answering in the native API's shape (the built-in targets), or through one
    # method per operation named after it, ``(account, **args)``, returning what :data:`RESULTS` reads (adapters).
    # ``batch(account, operation, csv, *, document)`` sends a CSV template (BATCH-1). Neither is required: a
    # target without an operation lacks its capability.
    def create_account(self, name: str, *, kind: str, verified: bool, id_number: str | None) -> str: ...

    # ---------------------------------------------------------------- observations
    def card(self, account: str, iccid: str) -> dict[str, Any]:
        """The card as its owner sees it (native ``Card``); raises :class:`Refused` (``card_not_found``) for a card
        the account cannot see."""

    def history(self, account: str, iccid: str) -> list[dict[str, Any]]:
        """The card's events (native ``Event`` items). A target may also offer ``history_length(account,
        iccid)``, how many there are, which the runner then uses to mark "events since the last step"."""
    def ledger(self, account: str, iccid: str) -> list[dict[str, Any]]: ...
    def certificate(self, account: str, iccid: str) -> dict[str, Any]: ...
    def pool(self, account: str, pool: str) -> dict[str, Any]: ...

    def close(self) -> None:
        """Release connections; the target is not used again."""


#: What the runner reads of an operation's native answer; other operations' answers are used as they are.
RESULTS: dict[str, Callable[[Any], Any]] = {
    "open_card": lambda body: body["iccid"],
    "swap": lambda body: body["iccid"],
    "change_plan": lambda body: (body.get("pending_change") or {}).get("effective_at"),  # none: applied at once
    "create_pool": lambda body: body["id"],
}


def perform(target: Any, operation: str, account: str, args: dict[str, Any]) -> Any:
    """Run a platform operation on ``target``: through its generic ``call`` (the built-in targets), or through a
    method named after the operation (adapters written one method per operation)."""
    generic = getattr(target, "call", None)
    if generic is not None:
        body = generic(operation, account, args)
        read = RESULTS.get(operation)
        return read(body) if read is not None else body
    method = getattr(target, operation, None)
    if method is None:
        needs = OPERATION(operation).capability
        raise TargetError(f"{getattr(target, 'name', target)} has no operation {operation} (neither call() nor a "
                          f"method of that name){f'; it does not declare {needs!r}' if needs else ''}, so the runner "
                          "should not have asked")
    return method(account, **args)


def missing_capabilities(target: Target, needed: set[str]) -> list[str]:
    return sorted(needed - set(target.capabilities))
