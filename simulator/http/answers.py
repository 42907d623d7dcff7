"""What the native API answers to each write: the shape of an engine operation's result on the wire.

Keyed by operation name (``simulator.operations``), pure and free of aiohttp, so that the native HTTP routes and
the in-process scenario target answer in exactly the same shapes. A write not listed answers the card as it
stands afterwards.
"""

from __future__ import annotations

from typing import Any, Callable

from ..money import to_cny
from ..simulation import Simulation
from . import views

Answer = tuple[int, Any] | Any
Shape = Callable[[Simulation, str, dict[str, Any], Any], Answer]


def _card(sim: Simulation, account: str, iccid: str) -> dict[str, Any]:
    return views.card(sim.card(iccid, account))


SHAPES: dict[str, Shape] = {
    "open_card": lambda sim, account, args, iccid: (201, _card(sim, account, iccid)),
    "top_up": lambda sim, account, args, payment: (201, {"payment": payment,
                                                         "card": _card(sim, account, args["iccid"])}),
    "renew": lambda sim, account, args, result: {"result": result, "card": _card(sim, account, args["iccid"])},
    "swap": lambda sim, account, args, new: (201, _card(sim, account, new)),
    "request_cancellation": lambda sim, account, args, review: (202, views.review(review)),
    "request_refund": lambda sim, account, args, amount: (201, {"amount": to_cny(amount),
                                                                 "card": _card(sim, account, args["iccid"])}),
    "create_pool": lambda sim, account, args, pool_id: (201, views.pool(sim.pool(account, pool_id))),
    "add_to_pool": lambda sim, account, args, _: views.pool(sim.pool(account, args["pool_id"])),
    "batch": lambda sim, account, args, job: (201, {k: v for k, v in job.items() if k != "account"}),
    "create_webhook": lambda sim, account, args, sub: (201, sub.view(with_secret=True)),
    "delete_webhook": lambda sim, account, args, _: (204, None),
}


def answer(sim: Simulation, op_name: str, account: str, args: dict[str, Any], result: Any) -> Answer:
    """The native answer (``(status, body)`` or a body for 200) to operation ``op_name`` that returned
    ``result``."""
    shape = SHAPES.get(op_name)
    if shape is None:
        return _card(sim, account, args["iccid"])
    return shape(sim, account, args, result)
