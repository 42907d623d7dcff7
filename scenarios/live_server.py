"""A carriersim HTTP server in a background thread, on a free port: for the ``carrier_sim_server`` fixture, the
HTTP half of the benchmarks and the tests that compare targets. ``carriersim serve`` is the same application in
its own process."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from carriersim.simulator.http import create_app
from carriersim.simulator.simulation import Simulation


@dataclass
class LiveServer:
    """``with LiveServer() as server: server.url, server.admin_token``."""

    seed: int = 1
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    max_worlds: int = 1000  # a session's worth of carrier_world tests, deleted as they finish
    host: str = "127.0.0.1"
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    app: web.Application | None = None
    dialects: tuple[Any, ...] = ()  # carrier dialects to mount (names or Api objects), with the profiles they serve

    def __enter__(self) -> "LiveServer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                sim = Simulation(seed=self.seed)
                if self.dialects:
                    from carriersim.simulator.http.dialects import dialect_apis, dialect_profiles
                    from carriersim.simulator.profile import builtin_profiles
                    self.dialects = tuple(dialect_apis(self.dialects))
                    sim = Simulation(seed=self.seed, profiles=builtin_profiles() + dialect_profiles(self.dialects))
                self.app = create_app(sim, admin_token=self.admin_token, dialects=list(self.dialects),
                                      max_worlds=self.max_worlds)
                self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
                loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, self.host, 0)
                loop.run_until_complete(site.start())
                port = site._server.sockets[0].getsockname()[1]  # the port the OS picked
                self.url = f"http://{self.host}:{port}"
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="carriersim-live-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        if not self.url:
            raise RuntimeError("the carriersim server did not start within 30 s")

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None


class ServeProcess:
    """``carriersim serve --port 0`` in a child process, as a user runs it: ``with ServeProcess() as s: s.url``."""

    READY = re.compile(r"ready at (http://[\d.]+:\d+)")

    def __init__(self, *extra: str, admin_token: str | None = None, timeout: float = 60.0) -> None:
        self.admin_token = admin_token or secrets.token_urlsafe(12)
        self.cmd = [sys.executable, "-m", "carriersim", "serve", "--port", "0",
                    f"--admin-token={self.admin_token}", *extra]
        self.timeout = timeout
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> "ServeProcess":
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + self.timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            found = self.READY.search(line)
            if found:
                self.url = found.group(1)
                return self
        self.__exit__()
        raise RuntimeError(f"carriersim serve did not say it was ready ({' '.join(self.cmd)})")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
