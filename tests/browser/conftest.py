"""Real headless Chromium (Debian's ``chromium``, installed by ``.ci/run`` when missing) driven by Playwright for
Python, against a live server in this process."""

from __future__ import annotations

import json
import shutil
import urllib.request
from typing import Any

import pytest

from carriersim.scenarios.live_server import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def call(server: LiveServer, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    req = urllib.request.Request(server.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key or server.admin_token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def server():
    with LiveServer() as s:
        yield s


@pytest.fixture
def page(browser, server):  # closed before the server stops (its event stream ends with it)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def open_card(server: LiveServer) -> tuple[str, str]:
    """The README's card: CMCC-M100, 20 CNY, no auto-renewal, activated."""
    acct = call(server, "POST", "/_sim/accounts", {"name": "Acme IoT", "verified": True})
    key = acct["api_key"]
    card = call(server, "POST", "/v1/cards", {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20",
                                              "auto_renew": False}, key)
    call(server, "POST", f"/v1/cards/{card['iccid']}/activation", {"imei": "490154203237518"}, key)
    return key, card["iccid"]
