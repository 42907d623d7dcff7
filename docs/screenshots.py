"""Regenerate the README's screenshots of the dashboard (docs/img/*.png) in real headless Chromium.

    .venv/bin/python docs/screenshots.py            # needs Debian's chromium (apt-get install chromium)

A server in this process with a generated fleet of 300 cards plus the README's card (CMCC-M100, no auto-renewal),
four simulated months on: the overview with the cards by state and the search, the card's page (its timeline from
active through retained to cancelled, the ledger with the retention fees), and the API reference.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from carriersim.scenarios.live_server import LiveServer

OUT = Path(__file__).resolve().parent / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def call(server: LiveServer, method: str, path: str, body: object = None, key: str | None = None) -> dict:
    req = urllib.request.Request(server.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key or server.admin_token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with LiveServer() as server, sync_playwright() as p:
        call(server, "POST", "/_sim/fleet", {"cards": 300, "accounts": 6, "seed": 1})
        key = call(server, "POST", "/_sim/accounts", {"name": "Acme IoT", "verified": True})["api_key"]
        iccid = call(server, "POST", "/v1/cards", {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20",
                                                   "auto_renew": False}, key)["iccid"]
        call(server, "POST", f"/v1/cards/{iccid}/activation", {"imei": "490154203237518"}, key)
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{server.url}/#token={server.admin_token}")
        page.wait_for_selector("#app:not([hidden])")
        page.fill("#advance-by", "4 months")
        page.click("#advance-btn")
        page.wait_for_selector("#clock:has-text('2027-05-01')")
        page.wait_for_selector("#events li")
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUT / "dashboard.png"))
        page.fill("#search", iccid)
        page.click("#search-btn")
        page.click(f"#results tr[data-iccid='{iccid}']")
        page.wait_for_selector(".band[data-state=cancelled]")
        page.locator("#card").screenshot(path=str(OUT / "card.png"))
        page.goto(server.url + "/api")
        page.wait_for_selector("#getCardLife")
        page.click("#getCardLife summary")
        page.screenshot(path=str(OUT / "api.png"))
        browser.close()
    for name in ("dashboard.png", "card.png", "api.png"):
        print(OUT / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
