"""``carriersim serve`` as a real process: it says where it listens once it does, answers HTTP there, stops cleanly
(exit 0) on SIGINT or SIGTERM, serves no ``/_sim`` with ``--no-test-control``, and a port already taken is a clear
error with exit code 1 (not a traceback).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"carriersim ready at (http://127\.0\.0\.1:(\d+)) ")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class Server:
    """``python -m carriersim serve …`` with its output read line by line on a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        env = {**{k: v for k, v in os.environ.items() if k not in ("CARRIERSIM_ADMIN_TOKEN", "CARRIERSIM_DB")},
               **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "carriersim", "serve", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = ""
        self.ready_line = ""

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.stdout.append(line)
            m = READY.search(line)
            if m:
                self.url, self.ready_line = m.group(1), line
                return self.url
        raise AssertionError(f"no 'ready at' line; stdout {self.stdout!r}, exit {self.proc.poll()}")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"carriersim serve did not stop within {STOP_TIMEOUT}s of signal {sig}") from None
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        server = Server(*args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def request(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, dict, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def test_serve_answers_and_stops_on_sigint(serve):
    server = serve("--port", "0", "--admin-token", "T", "--seed", "3")
    url = server.wait_ready()
    assert int(url.rsplit(":", 1)[1]) > 0
    assert "clock frozen at 2027-01-01T00:00:00+08:00" in server.ready_line
    assert "admin token from the command line" in server.ready_line  # a given token is not echoed
    status, _, clock = request(f"{url}/_sim/clock", token="T")
    assert (status, clock) == (200, {"now": "2027-01-01T00:00:00+08:00", "mode": "frozen", "rate": 86400.0})
    status, _, created = request(f"{url}/_sim/accounts", "POST", {"name": "Acme", "verified": True}, token="T")
    assert status == 201
    key = created["api_key"]
    status, _, card = request(f"{url}/v1/cards", "POST", {"carrier": "cmcc", "plan": "CMCC-M100"}, token=key)
    assert status == 201 and card["state"] == "ready"
    status, headers, problem = request(f"{url}/v1/cards/{card['iccid']}", token="wrong")
    assert status == 401 and problem["code"] == "unauthorized"
    assert headers["Content-Type"].startswith("application/problem+json")
    status, _, doc = request(f"{url}/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    t0 = time.monotonic()
    code, stderr = server.stop(signal.SIGINT)
    assert code == 0, stderr
    assert time.monotonic() - t0 < STOP_TIMEOUT
    assert "Traceback" not in stderr
    assert "carriersim: stopping" in stderr
    # and it no longer listens
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1).close()


def test_sigint_with_a_stalled_client_still_stops_within_seconds(serve):
    """A client that sent half a request and went quiet must not hold the server open (aiohttp would wait 60 s)."""
    server = serve("--port", "0", "--admin-token", "T")
    url = server.wait_ready()
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(b"POST /_sim/accounts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer T\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\"")
        time.sleep(0.2)  # the handler is now waiting for the rest of the body
        t0 = time.monotonic()
        code, stderr = server.stop(signal.SIGINT)
        assert code == 0, stderr
        assert time.monotonic() - t0 < STOP_TIMEOUT
        assert "Traceback" not in stderr


def test_serve_stops_on_sigterm(serve):
    server = serve("--port", "0", "--admin-token", "T")
    url = server.wait_ready()
    assert request(f"{url}/_sim/clock", token="T")[0] == 200
    code, stderr = server.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_serve_generates_an_admin_token_when_none_is_given(serve):
    server = serve("--port", "0")
    url = server.wait_ready()
    m = re.search(r"admin token (\S+?)[;)]", server.ready_line)
    assert m, server.ready_line
    token = m.group(1)
    assert request(f"{url}/_sim/clock", token=token)[0] == 200
    assert request(f"{url}/_sim/clock", token=token + "x")[0] == 401
    assert server.stop()[0] == 0


def test_no_test_control_gives_404_on_sim(serve):
    server = serve("--port", "0", "--admin-token", "T", "--no-test-control", "--fleet", "5")
    url = server.wait_ready()
    assert "test control disabled" in server.ready_line
    for path in ("/_sim/clock", "/_sim/accounts", "/_sim/reset"):
        for method in ("GET", "POST"):
            status, _, problem = request(f"{url}{path}", method, {} if method == "POST" else None, token="T")
            assert status == 404 and problem["code"] == "not_found", (path, method, status)
    # the native API works, with the key printed for the generated fleet
    m = re.search(r"key for (acc-\d+): (csk_\w+)", server.ready_line)
    assert m, server.ready_line
    status, _, me = request(f"{url}/v1/account", token=m.group(2))
    assert status == 200 and me["id"] == m.group(1) and me["cards"] > 0
    status, _, doc = request(f"{url}/openapi.json")
    assert not [p for p in doc["paths"] if p.startswith("/_sim")]
    assert server.stop()[0] == 0


def test_port_in_use_is_a_clear_error_and_exit_1(serve):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = serve("--port", str(port), "--admin-token", "T")
        try:
            code = server.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("carriersim serve kept running on a port already in use")
        assert server.proc.stderr is not None and server.proc.stdout is not None
        stderr = server.proc.stderr.read()
    assert code == 1, stderr
    assert f"carriersim: error: cannot listen on 127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr
    out = []
    while (line := server.lines.get(timeout=5)) is not None:
        out.append(line)
    assert not [line for line in out if "ready at" in line]


def test_ipv6_host_is_printed_as_a_usable_url(serve):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server = serve("--host", "::1", "--port", "0", "--admin-token", "T")
    deadline = time.monotonic() + START_TIMEOUT
    line = ""
    while time.monotonic() < deadline and "ready at" not in line:
        line = server.lines.get(timeout=START_TIMEOUT) or ""
    m = re.search(r"ready at (http://\[::1\]:\d+) ", line)
    assert m, line
    assert request(f"{m.group(1)}/_sim/clock", token="T")[0] == 200
    assert server.stop()[0] == 0


def test_an_empty_admin_token_variable_means_none_given(serve):
    """A container started with CARRIERSIM_ADMIN_TOKEN= (empty) must not accept an empty bearer token: the server
    generates one, as when the variable is unset."""
    server = serve("--port", "0", env={"CARRIERSIM_ADMIN_TOKEN": ""})
    url = server.wait_ready()
    token = re.search(r"admin token ([A-Za-z0-9_-]+)", server.ready_line).group(1)
    assert token not in ("", "from")
    req = urllib.request.Request(f"{url}/_sim/clock", headers={"Authorization": "Bearer "})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    err.value.close()
    assert err.value.code == 401
    assert request(f"{url}/_sim/clock", token=token)[0] == 200
    assert request(f"{url}/healthz")[0] == 200
