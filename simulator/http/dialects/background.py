"""What the dialects that call platforms back (Twilio's CallbackUrl, Control Center's Push API) share: one
background task per mounted dialect, woken after every command, that delivers what has become due."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from ..api import Api

if TYPE_CHECKING:
    from ..app import ServerState


class Deliveries(Api):
    """The base of a dialect ``Api`` that calls back: ``wake`` (a listener of the world's webhook hub), the task
    started and stopped with the app, and ``_deliver(state)``, the dialect's own loop."""

    _wake: asyncio.Event | None = None
    _task: asyncio.Task | None = None

    def mount(self, app: web.Application) -> None:
        super().mount(app)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _start(self, app: web.Application) -> None:
        from ..app import STATE
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._deliver(app[STATE]))

    async def _stop(self, app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _deliver(self, state: "ServerState") -> None:
        raise NotImplementedError
