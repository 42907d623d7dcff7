"""Webhooks: every event of an account is POSTed as JSON to its registered URLs, signed with HMAC-SHA256.

The signature header is ``Carriersim-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
``HMAC-SHA256(secret, f"{t}.{body}")`` (the scheme Stripe made familiar). A subscription delivers its events one at
a time in event order, so the order per card holds; a failed delivery is retried with exponential backoff and the
events behind it wait, so a receiver that was down gets everything, in order, once it recovers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from ..simulation import Simulation
from .feed import account_events

SIGNATURE_HEADER = "Carriersim-Signature"
log = logging.getLogger("carriersim.webhooks")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int | None = 300) -> bool:
    """What a receiver does: recompute the MAC and compare in constant time (and refuse stale timestamps)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if tolerance is not None and abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


@dataclass
class Subscription:
    id: str
    account_id: str
    url: str
    secret: str
    cursor: int
    delivered: int = 0
    failures: int = 0
    last_error: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)

    def view(self, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "url": self.url, "delivered": self.delivered,
                               "failures": self.failures, "cursor": self.cursor}
        if self.last_error:
            out["last_error"] = self.last_error
        if with_secret:
            out["secret"] = self.secret
        return out


class WebhookHub:
    def __init__(self, get_sim: Callable[[], Simulation], *, backoff: float = 0.5, max_backoff: float = 60.0,
                 timeout: float = 5.0) -> None:
        self._get_sim = get_sim
        self.backoff, self.max_backoff, self.timeout = backoff, max_backoff, timeout
        self.subs: dict[str, Subscription] = {}
        self._count = 0
        self._session: aiohttp.ClientSession | None = None
        self._running = False
        self.busy: Callable[[], bool] = lambda: False  # the world is being changed in a worker thread: wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.listeners: list[Callable[[], None]] = []  # more to wake after each command (dialect callbacks)

    # ------------------------------------------------------------------ registry

    def register(self, account_id: str, url: str) -> Subscription:
        """Events from now on are delivered (the feed has the past ones)."""
        self._count += 1
        sim = self._get_sim()
        # derived from the seed, like API keys, so that a journal replay hands out the same secret
        secret = hmac.new(str(sim.seed).encode(), f"webhook:{self._count}:{account_id}:{url}".encode(),
                          hashlib.sha256).hexdigest()[:32]
        sub = Subscription(f"wh-{self._count:04d}", account_id, url, "whsec_" + secret, cursor=sim.event_count())
        self._add(sub)
        return sub

    def _add(self, sub: Subscription) -> None:
        self.subs[sub.id] = sub
        if self._running:
            self._on_loop(self._spawn, sub)

    def _spawn(self, sub: Subscription) -> None:
        if self._running and self.subs.get(sub.id) is sub and sub.task is None:
            sub.task = asyncio.get_running_loop().create_task(self._worker(sub))

    def _on_loop(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn`` in the event loop's thread: a long command (an advance, a restore) runs in a worker thread,
        and asyncio's tasks and events may only be touched from the loop's own."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(fn, *args)
        else:
            fn(*args)

    def restore(self, records: list[dict[str, Any]], count: int) -> None:
        """Subscriptions as a snapshot had them (delivery resumes from each one's cursor)."""
        for sub in list(self.subs.values()):
            self.remove(sub.account_id, sub.id)
        self._count = count
        for r in records:
            self._add(Subscription(r["id"], r["account"], r["url"], r["secret"], r["cursor"], r["delivered"],
                                   r["failures"]))

    def of(self, account_id: str) -> list[Subscription]:
        return [s for s in self.subs.values() if s.account_id == account_id]

    def remove(self, account_id: str, sub_id: str) -> bool:
        sub = self.subs.get(sub_id)
        if sub is None or sub.account_id != account_id:
            return False
        del self.subs[sub_id]
        if sub.task is not None:
            self._on_loop(sub.task.cancel)
        return True

    def notify(self) -> None:
        """New events may exist: wake every worker and listener (cheap; called after each command)."""
        if self.subs or self.listeners:
            self._on_loop(self._wake_all)

    def _wake_all(self) -> None:
        for sub in list(self.subs.values()):
            sub.wake.set()
        for listener in self.listeners:
            listener()

    # ------------------------------------------------------------------ delivery

    async def start(self) -> None:
        self.start_now()

    def start_now(self) -> None:
        """Start delivering (inside the running event loop); the HTTP session opens at the first delivery, so an
        idle world costs no connection pool."""
        self._running = True
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        for sub in self.subs.values():
            if sub.task is None:
                sub.task = self._loop.create_task(self._worker(sub))

    async def stop(self) -> None:
        self._running = False
        await self.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def clear(self) -> None:
        tasks = [s.task for s in self.subs.values() if s.task is not None]
        self.subs.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failed try: ``backoff * 2**(attempt-1)``, capped. (The exponent
        is bounded first: ``2**1024`` does not fit a float, and a receiver can be down for a thousand attempts.)"""
        return min(self.backoff * 2.0 ** min(attempt - 1, 64), self.max_backoff)

    async def _worker(self, sub: Subscription) -> None:
        failures = 0
        while True:
            try:
                await self._step(sub)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not silently end the subscription: log it, wait, carry on
                failures += 1
                log.exception("webhook %s: worker failed; retrying", sub.id)
                await asyncio.sleep(self.delay(failures))

    async def _step(self, sub: Subscription) -> None:
        """Deliver the next pending events (up to 100, in order), or wait for a wake-up when there are none."""
        if self.busy():  # a long advance runs in a worker thread: read the world once it has settled
            await asyncio.sleep(0.05)
            return
        events, next_cursor = account_events(self._get_sim(), sub.account_id, sub.cursor, 100)
        if not events:
            sub.cursor = next_cursor
            sub.wake.clear()
            if next_cursor >= self._get_sim().event_count():
                await sub.wake.wait()
            return
        for event in events:
            await self._deliver(sub, event)
            sub.cursor = event["seq"] + 1

    async def _deliver(self, sub: Subscription, event: dict[str, Any]) -> None:
        body = json.dumps({"delivery": event["seq"], "account": sub.account_id, "event": event},
                          ensure_ascii=False).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._session is None:
                    self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
                headers = {"Content-Type": "application/json", "Carriersim-Event": event["kind"],
                           "Carriersim-Delivery": str(event["seq"]),
                           SIGNATURE_HEADER: sign(sub.secret, body, int(time.time()))}
                async with self._session.post(sub.url, data=body, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        sub.delivered += 1
                        sub.last_error = None
                        return
                    sub.last_error = f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                sub.last_error = f"{type(exc).__name__}: {exc}"[:200]
            sub.failures += 1
            await asyncio.sleep(self.delay(attempt))
