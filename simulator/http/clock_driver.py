"""Accelerated clock: the one place the server reads the wall clock.

The engine never reads real time (its clock moves only by ``advance``). In accelerated mode this driver issues
those advances: every tick it moves the simulated clock to ``anchor + (wall - wall_anchor) × rate``, so with a
rate of 86400 a simulated day passes each real second and cycle starts and expiries happen on their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable

from ..simulation import Simulation

TICK_SECONDS = 0.05
log = logging.getLogger("carriersim.clock")


class ClockDriver:
    def __init__(self, get_sim: Callable[[], Simulation], mode: str = "frozen", rate: float = 1.0,
                 on_advance: Callable[[], None] | None = None) -> None:
        self._get_sim = get_sim
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._mode = mode
        self.busy: Callable[[], bool] = lambda: False  # the world is being changed elsewhere: skip this tick
        self.rate = rate
        self._on_advance = on_advance
        self.on_tick: Callable[[int, int, float], None] | None = None  # set by --db to journal ticks
        self.on_moved: Callable[[int, int], None] | None = None  # the recorder: an accelerated move happened
        self._anchor_sim = 0
        self._anchor_wall = 0.0
        self._task: asyncio.Task | None = None
        self.reanchor()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = mode
        if self._wake is not None and self._loop is not None:  # a frozen clock's ticker sleeps until told
            if threading.get_ident() == self._loop_thread:
                self._wake.set()
            else:  # a restore in a worker thread
                self._loop.call_soon_threadsafe(self._wake.set)

    def reanchor(self) -> None:
        """Start counting accelerated time from now (after a mode change, a jump or a reset)."""
        self._anchor_sim = self._get_sim().now
        self._anchor_wall = time.monotonic()

    def set_mode(self, mode: str, rate: float | None = None) -> None:
        self.tick()  # settle the time accelerated so far before changing pace
        self.mode = mode
        if rate is not None:
            self.rate = rate
        self.reanchor()

    def tick(self) -> None:
        if self._mode != "accelerated":
            return
        sim = self._get_sim()
        # wall time counts to the microsecond and the product is rounded before the floor, so that one second at
        # 86400 is exactly one day even when the monotonic clock is large and the float difference a hair short
        elapsed = round(time.monotonic() - self._anchor_wall, 6)
        target = self._anchor_sim + int(round(elapsed * self.rate, 6))
        if target > sim.now:
            before, started = sim.now, time.perf_counter()
            try:
                sim.advance(to=target)
                if self.on_tick is not None:  # --db: the tick is a command like any other
                    self.on_tick(before, target, time.perf_counter() - started)
                if self.on_moved is not None:
                    self.on_moved(before, target)
            finally:  # even a failed advance may have run jobs: let the webhook workers look
                if self._on_advance is not None:
                    self._on_advance()

    def view(self) -> dict[str, object]:
        sim = self._get_sim()
        return {"now": sim.iso(sim.now), "mode": self.mode, "rate": self.rate}

    async def run(self) -> None:
        assert self._wake is not None
        while True:
            if self._mode != "accelerated":  # frozen: no wake-ups at all (a server may hold hundreds of worlds)
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(TICK_SECONDS)
            if self.busy():
                continue
            try:
                self.tick()
            except Exception:  # an engine failure must not stop the clock for good: log it, try the next tick
                log.exception("accelerated clock: advance failed")

    def start(self) -> None:
        """Start the ticker. Accelerated time counts from here (not from construction: building a fleet between
        ``create_app`` and the server listening must not turn into a jump of days at the first tick)."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
            self.reanchor()
            self._task = self._loop.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
