"""Fault injection for the native API (test control): latency and error rates per route, seeded so that a run
repeats exactly. A platform's retry and timeout logic can then be tested against a carrier that misbehaves."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..errors import SimError
from .problems import problem
from .spec import OPERATIONS


@dataclass
class Fault:
    id: str
    route: str  # a path template as in the OpenAPI document (/v1/cards/{iccid}) or a prefix ending in *
    method: str = "*"
    latency_ms: int = 0
    error_rate: float = 0.0
    status: int = 503
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, template: str) -> bool:
        if self.method not in ("*", method):
            return False
        if self.route.endswith("*"):
            return template.startswith(self.route[:-1])
        return template == self.route

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "route": self.route, "latency_ms": self.latency_ms,
                "error_rate": self.error_rate, "status": self.status, "seed": self.seed}


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._count = 0

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = Fault(f"fault-{self._count + 1}", spec["route"], spec.get("method", "*"), spec.get("latency_ms", 0),
                      spec.get("error_rate", 0.0), spec.get("status", 503), spec.get("seed", 0))
        if not any(fault.matches(op.method, op.path) for op in OPERATIONS if not op.control):
            # a concrete path (/v1/cards/8986…) or a typo would otherwise be accepted and never fire
            method = "" if fault.method == "*" else f"{fault.method} "
            raise SimError("unknown_route", f"No {method}operation has the route {fault.route!r}: give a path "
                           "template as in the OpenAPI document (/v1/cards/{iccid}) or a prefix ending in * "
                           "(/v1/cards*).", status=422, route=fault.route, method=fault.method)
        self._count += 1
        fault.rng = random.Random(fault.seed)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    async def apply(self, method: str, template: str) -> web.Response | None:
        """Sleep for the route's latency; answer with an injected error when the seeded draw says so."""
        for fault in self.faults:
            if not fault.matches(method, template):
                continue
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.error_rate and fault.rng.random() < fault.error_rate:
                return problem(fault.status, "injected_fault", f"Fault {fault.id} injected on {method} {template}.",
                               headers={"Retry-After": "1"} if fault.status in (429, 503) else None)
        return None
